/** How parameter rules read a request: bracket-form names over form and JSON bodies, strict on anything ambiguous. */
import { describe, expect, it } from 'vitest';
import { requestParamReader } from '../src/rules/request-params.ts';

const form = { 'content-type': 'application/x-www-form-urlencoded' };
const json = { 'content-type': 'application/json' };
const read = (headers: Record<string, string>, body: string, rawQuery = '') => requestParamReader({ headers, rawQuery, body: Buffer.from(body) });

describe('requestParamReader', () => {
  it('reads nested form names and nested JSON by the same bracket-form name', () => {
    expect(read(form, 'transfer_data[destination]=acct_1&amount=5')('transfer_data[destination]')).toEqual({ kind: 'value', value: 'acct_1' });
    expect(read(json, '{"transfer_data":{"destination":"acct_1"},"amount":5}')('transfer_data[destination]')).toEqual({ kind: 'value', value: 'acct_1' });
    expect(read(json, '{"amount":5}')('amount')).toEqual({ kind: 'value', value: '5' });
    expect(read(form, 'amount=5')('customer')).toEqual({ kind: 'absent' });
    expect(read({}, '', 'customer=cus_1')('customer')).toEqual({ kind: 'value', value: 'cus_1' });
  });

  it('never reads the prototype chain', () => {
    expect(read(form, 'a=1')('constructor')).toEqual({ kind: 'absent' });
    expect(read(json, '{"a":{}}')('a[toString]')).toEqual({ kind: 'absent' });
  });

  it.each([
    ['a parameter given twice', form, 'customer=a&customer=b', ''],
    ['a nested value where a string is pinned', form, 'customer[id]=a', ''],
    ['the query and the body', form, 'customer=a', 'customer=b'],
    ['unbalanced brackets anywhere in the form', form, 'customer=a&x[y=1', ''],
    ['an encoded body', { ...form, 'content-encoding': 'gzip' }, 'customer=a', ''],
    ['a body of another type', { 'content-type': 'text/plain' }, 'customer=a', ''],
    ['JSON that is not an object', json, '["customer"]', ''],
    ['too many parameters', form, `${Array.from({ length: 2001 }, (_, i) => `p${i}=1`).join('&')}&customer=a`, ''],
  ])('%s is unreadable', (_what, headers, body, query) => {
    expect(read(headers as Record<string, string>, body, query)('customer').kind).toBe('unreadable');
  });
});
