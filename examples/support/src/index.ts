/**
 * What the examples share and is not their story: where keyleash and Stripe come from, and the
 * example `charge_card` tool. The OpenAI Agents examples' scripted model is at
 * `@keyleash/example-support/scripted`, so an example on another framework does not load that SDK.
 */
export * from './local-stack.ts';
export * from './tools.ts';
