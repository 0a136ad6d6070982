// A misbehaving HTTP endpoint posing as a Proxmox VE API (a fake: there is
// no real PVE on this machine).  argv: MODE PORT, MODE one of
//   hang     accepts the connection and the request, never answers
//   reset    reads the request, then resets the connection (RST)
//   garbage  answers 200 with a body that is not JSON
import net from 'node:net';

const [mode, port] = process.argv.slice(2);
const server = net.createServer((sock) => {
    sock.on('error', () => {});
    sock.once('data', () => {
        if (mode === 'reset') {
            sock.resetAndDestroy();
        } else if (mode === 'garbage') {
            const body = '\u0000\u0001<html>not json at all {{{';
            sock.end(`HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n` +
                     `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
        }
        // hang: keep the socket open and say nothing.
    });
});
server.listen(Number(port), '127.0.0.1');
