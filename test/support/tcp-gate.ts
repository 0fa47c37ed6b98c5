/**
 * A TCP hop in front of an upstream that can hold traffic: while closed it accepts connections
 * and keeps the bytes they send without passing them on, so a request keyleash has already
 * reserved and started forwarding has not reached the upstream (the instant "between reserve and
 * forward", pinned without any hook in keyleash). Opened, it relays connections as they come.
 */
import net from 'node:net';

export interface TcpGate {
  url: string;
  /** request lines seen while holding (e.g. "POST /v1/payment_intents") */
  heldRequests(): number;
  close(): Promise<void>;
}

export async function startTcpGate(target: string, options: { holding: boolean }): Promise<TcpGate> {
  const upstream = new URL(target);
  let held = '';
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    if (options.holding) {
      socket.on('data', (chunk: Buffer) => (held += chunk.toString('latin1')));
      return;
    }
    const onward = net.connect(Number(upstream.port), upstream.hostname);
    sockets.add(onward);
    onward.on('error', () => socket.destroy());
    socket.pipe(onward).pipe(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    heldRequests: () => held.match(/[A-Z]+ \/\S* HTTP\/1\.1\r\n/g)?.length ?? 0,
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
