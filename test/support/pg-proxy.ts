/**
 * A TCP proxy between the app and PostgreSQL that can cut one connection at an exact point of the wire
 * protocol, for faults no server restart can place: "PostgreSQL committed, the client never heard it".
 *
 * Bytes are forwarded both ways unchanged. Both streams are also parsed message by message (partial messages
 * are buffered): client → server to know which statements the current transaction ran (simple `Query` and
 * extended `Parse` texts, reset at each BEGIN), server → client to see each `CommandComplete` ('C', tag
 * NUL-terminated, e.g. "BEGIN", "INSERT 0 1", "COMMIT"). Armed with `cutAt`, the first CommandComplete with
 * that tag, on a connection whose transaction ran a statement matching `when`, is not forwarded: the messages
 * before it in the same chunk are, then both sockets are destroyed. The server has done the command (for
 * COMMIT: committed), the client never hears it, and it sees its connection closed. One cut per arming;
 * every other connection and every other message goes through untouched.
 *
 * The server's one-byte answer to an SSLRequest/GSSENCRequest (no framing) is passed through as such.
 *
 * Observed with postgres.js 3.4.9: `sql.begin` sends `begin` as a simple Query and every later statement,
 * COMMIT included, with the extended protocol (Parse/Bind/Execute/Sync), one at a time (nothing pipelined
 * inside a transaction); the server's tag is "COMMIT". The cut surfaces as `CONNECTION_CLOSED` on the
 * COMMIT, and the row is there when read on another connection.
 */
import { createServer, connect, type Server, type Socket } from 'node:net';

export interface CutSpec {
  /** The command tag's first word: 'COMMIT', 'BEGIN', 'INSERT', … */
  tag: string;
  /** Only on a connection whose current transaction sent a statement matching this (any, if absent). */
  when?: RegExp;
}

export interface Cut {
  tag: string;
  /** The statements of the transaction that was cut (as the client sent them). */
  statements: string[];
}

export interface PgProxy {
  port: number;
  /** `url` (a postgres:// URL of the real server) with its host and port replaced by the proxy's. */
  urlFor(url: string): string;
  /** Arms one cut (replacing any armed one); resolves once it happened. */
  cutAt(spec: CutSpec): Promise<Cut>;
  disarm(): void;
  /** How many client connections were cut so far. */
  cuts(): number;
  close(): Promise<void>;
}

const SSL_REQUEST = 80877103;
const GSSENC_REQUEST = 80877104;
const CANCEL_REQUEST = 80877102;

export async function startPgProxy(target: { host: string; port: number }): Promise<PgProxy> {
  let armed: { spec: CutSpec; resolve: (cut: Cut) => void } | null = null;
  let cutCount = 0;
  const sockets = new Set<Socket>();

  const server: Server = createServer((client) => {
    const upstream = connect(target.port, target.host);
    sockets.add(client).add(upstream);
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    let closed = false;
    const closeBoth = () => {
      if (closed) return;
      closed = true;
      client.destroy();
      upstream.destroy();
    };
    client.on('close', () => (sockets.delete(client), closeBoth()));
    upstream.on('close', () => (sockets.delete(upstream), closeBoth()));
    client.on('error', closeBoth);
    upstream.on('error', closeBoth);

    // Client → server: forwarded as is; parsed only to know the current transaction's statements.
    let statements: string[] = [];
    let fromClient = Buffer.alloc(0);
    let startupDone = false;
    let singleByteAnswers = 0; // one-byte answers the server owes to SSL/GSSENC requests
    client.on('data', (chunk: Buffer) => {
      upstream.write(chunk);
      fromClient = Buffer.concat([fromClient, chunk]);
      for (;;) {
        if (!startupDone) {
          if (fromClient.length < 8) return;
          const len = fromClient.readInt32BE(0);
          if (fromClient.length < len) return;
          const code = fromClient.readInt32BE(4);
          if (code === SSL_REQUEST || code === GSSENC_REQUEST) singleByteAnswers++;
          else if (code !== CANCEL_REQUEST) startupDone = true;
          fromClient = fromClient.subarray(len);
          continue;
        }
        if (fromClient.length < 5) return;
        const len = fromClient.readInt32BE(1);
        if (fromClient.length < 1 + len) return;
        const type = String.fromCharCode(fromClient[0]!);
        const body = fromClient.subarray(5, 1 + len);
        fromClient = fromClient.subarray(1 + len);
        let text: string | null = null;
        if (type === 'Q') text = cString(body, 0);
        if (type === 'P') text = cString(body, body.indexOf(0) + 1); // statement name, then the query
        if (text !== null) {
          if (/^\s*(begin|start\s+transaction)\b/i.test(text)) statements = [];
          statements.push(text);
        }
      }
    });

    // Server → client: parsed message by message, so a cut lands exactly before one message.
    let fromServer = Buffer.alloc(0);
    upstream.on('data', (chunk: Buffer) => {
      if (closed) return;
      fromServer = Buffer.concat([fromServer, chunk]);
      let forward = 0; // bytes of fromServer that are complete messages, safe to pass on
      for (;;) {
        if (singleByteAnswers > 0 && fromServer.length > forward) {
          singleByteAnswers--;
          forward += 1;
          continue;
        }
        if (fromServer.length - forward < 5) break;
        const len = fromServer.readInt32BE(forward + 1);
        if (fromServer.length - forward < 1 + len) break;
        if (fromServer[forward] === 0x43 /* 'C' */ && armed) {
          const tag = cString(fromServer, forward + 5);
          const { spec, resolve } = armed;
          if (tag.split(' ')[0] === spec.tag && (!spec.when || statements.some((s) => spec.when!.test(s)))) {
            armed = null;
            cutCount++;
            if (forward > 0) client.write(fromServer.subarray(0, forward));
            closeBoth();
            resolve({ tag, statements: [...statements] });
            return;
          }
        }
        forward += 1 + len;
      }
      if (forward > 0) {
        client.write(fromServer.subarray(0, forward));
        fromServer = fromServer.subarray(forward);
      }
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  if (!address || typeof address === 'string') throw new Error('proxy has no port');
  const port = address.port;

  return {
    port,
    urlFor(url) {
      const u = new URL(url);
      u.hostname = '127.0.0.1';
      u.port = String(port);
      return u.toString();
    },
    cutAt(spec) {
      return new Promise<Cut>((resolve) => (armed = { spec, resolve }));
    },
    disarm() {
      armed = null;
    },
    cuts: () => cutCount,
    async close() {
      armed = null;
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function cString(buf: Buffer, start: number): string {
  const end = buf.indexOf(0, start);
  return buf.toString('utf8', start, end < 0 ? buf.length : end);
}
