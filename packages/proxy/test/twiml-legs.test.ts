import { describe, expect, it } from 'vitest';
import { callMayDial, twimlMayDial } from '../src/vendors/twilio/twiml-legs.ts';

const params = (entries: [string, string][]) => {
  const map = new Map<string, string[]>();
  for (const [name, value] of entries) map.set(name, [...(map.get(name) ?? []), value]);
  return map;
};

describe('can a new call dial a second leg?', () => {
  it('inline TwiML that only speaks, plays, pauses, hangs up or rejects is one leg', () => {
    for (const twiml of [
      '<Response><Say>Hello</Say></Response>',
      '<?xml version="1.0" encoding="UTF-8"?><Response><Say voice="Polly.Amy"><prosody rate="slow">Hi <break time="1s"/> there</prosody></Say><Play loop="2">https://x/a.mp3</Play><Pause length="2"/><Hangup/></Response>',
      '<Response><!-- a comment --><Say>Tom &amp; Jerry &#60;3</Say><Reject reason="busy"/></Response>',
      '<Response><Say><![CDATA[hello]]></Say></Response>',
    ]) {
      expect(twimlMayDial(twiml), twiml).toBeUndefined();
    }
  });

  it.each([
    ['<Response><Dial>+23276123456</Dial></Response>', '<Dial>'],
    ['<Response><Dial><Conference>room</Conference></Dial></Response>', '<Dial>'],
    ['<Response><Dial><Sip>sip:a@b.example</Sip></Dial></Response>', '<Dial>'],
    ['<Response><Dial><Client>alice</Client></Dial></Response>', '<Dial>'],
    ['<Response><Refer><Sip>sip:a@b.example</Sip></Refer></Response>', '<Refer>'],
    ['<Response><Enqueue>support</Enqueue></Response>', '<Enqueue>'],
    ['<Response><Connect><Stream url="wss://x"/></Connect></Response>', '<Connect>'],
    ['<Response><Redirect>https://attacker.example/dial.xml</Redirect></Response>', '<Redirect>'],
    ['<Response><Gather action="https://x/next"><Say>Press 1</Say></Gather></Response>', '<Gather>'],
    ['<Response><dial>+23276123456</dial></Response>', '<dial>'],
    ['<Response><Say>hi <!-- <Dial>+1</Dial> --></Say></Response>', '<Dial>'],
    ['<Response>< Dial>+1</Dial></Response>', '<Dial>'],
    ['<!DOCTYPE r [<!ENTITY d "<Dial>+23276123456</Dial>">]><Response>&d;</Response>', 'DOCTYPE'],
    ['<Response>&dial;</Response>', 'entity'],
    ['<?xml version="1.0" encoding="UTF-7"?><Response>+ADw-Dial+AD4-</Response>', 'encoding="utf-7"'],
    ['<Response><?php dial() ?></Response>', 'processing instruction'],
  ])('%s may dial (%s)', (twiml, named) => {
    expect(twimlMayDial(twiml)).toContain(named);
  });

  it('a call whose TwiML comes from elsewhere may dial; inline TwiML alone is read', () => {
    expect(callMayDial(params([['Url', 'https://x']]))).toContain('Url');
    expect(callMayDial(params([['ApplicationSid', `AP${'1'.repeat(32)}`]]))).toContain('ApplicationSid');
    expect(callMayDial(params([['Twiml', '<Response><Say>hi</Say></Response>'], ['FallbackUrl', 'https://x']]))).toContain('FallbackUrl');
    expect(callMayDial(params([['Twiml', '<Response><Say>hi</Say></Response>'], ['Twiml', '<Response><Dial>+1</Dial></Response>']]))).toContain('2 times');
    expect(callMayDial(params([]))).toContain('no TwiML');
    expect(callMayDial(params([['Twiml', '<Response><Say>hi</Say></Response>'], ['StatusCallback', 'https://x/status']]))).toBeUndefined();
  });
});
