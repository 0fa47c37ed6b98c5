import type { ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';
import type { StreamMeter } from '../vendors/vendor.ts';

/** Resolves when the client can take more bytes, or has gone. */
function drained(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.once('drain', done);
    res.once('close', done);
  });
}

/**
 * Relays a streamed answer through its meter with backpressure, and reads the upstream to its
 * end even after the client hung up: the vendor goes on generating (and billing) what was asked
 * for, and the usage it reports at the end is what settles the reservation. Resolves when the
 * upstream answer has ended (or failed); does not end `res` (the caller does, after the audit row).
 */
export async function relayMeteredStream(upstream: Readable, res: ServerResponse, meter: StreamMeter): Promise<{ upstreamError?: unknown; clientGone: boolean }> {
  const clientGone = () => res.destroyed || res.writableEnded;
  const send = async (bytes: Buffer) => {
    if (bytes.length === 0 || clientGone()) return;
    if (!res.write(bytes)) await drained(res);
  };
  try {
    for await (const chunk of upstream) await send(meter.push(chunk as Buffer));
    await send(meter.end());
    return { clientGone: clientGone() };
  } catch (error) {
    return { upstreamError: error, clientGone: clientGone() };
  }
}
