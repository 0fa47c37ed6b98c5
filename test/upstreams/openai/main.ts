/**
 * CLI for the scripted OpenAI-compatible model server, for examples and benchmarks:
 *   node --import tsx test/upstreams/openai/main.ts --port 12112 --script turns.json
 * turns.json: a list of turns, or an object of lists keyed by model name, e.g.
 *   {"billing": [{"toolCalls": [{"name": "create_payment_intent", "arguments": {"amount": 500, "currency": "usd"}}]}, {"text": "done"}]}
 * Runs until SIGINT/SIGTERM.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { startFakeOpenAI, type Script } from './server.ts';

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '12112' },
    host: { type: 'string', default: '127.0.0.1' },
    script: { type: 'string' },
    'api-key': { type: 'string' },
  },
});

const script = values.script ? (JSON.parse(readFileSync(values.script, 'utf8')) as Script) : [];
const fake = await startFakeOpenAI({ script, port: Number(values.port), host: values.host, ...(values['api-key'] ? { apiKey: values['api-key'] } : {}) });
console.log(`fake-openai listening on ${fake.url}`);

const stop = () => {
  void fake.close().then(() => process.exit(0));
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
