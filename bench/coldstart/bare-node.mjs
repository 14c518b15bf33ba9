// Baseline: the least a Node HTTP service can do before answering its readiness probe.
import { createServer } from 'node:http';

createServer((req, res) => {
  res.statusCode = req.url === '/readyz' ? 200 : 202;
  res.end();
}).listen(Number(process.env.PORT ?? 8080), '127.0.0.1');
