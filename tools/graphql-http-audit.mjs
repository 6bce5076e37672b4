// The GraphQL-over-HTTP server audit of the `graphql-http` package, against a running
// service with a real token (the service wants a bearer token and Entur-POS):
//
//   npm install graphql-http@1.23.1 graphql@16
//   node tools/graphql-http-audit.mjs http://127.0.0.1:8000/sales/v1/graphql "$(.venv/bin/sales-api token --client-id demo-app)"
//
// 2026-12-04: 58 ok, 0 warnings, 0 errors; 3 notices, all about GET, which is refused on
// purpose (tokens and data stay out of URLs). Before application/graphql-response+json:
// 50 ok, 8 warnings.
import { auditServer } from 'graphql-http';
const url = process.argv[2], token = process.argv[3];
const fetchFn = (input, init = {}) => {
  const headers = new Headers(init.headers || {});
  headers.set('authorization', `Bearer ${token}`);
  headers.set('entur-pos', 'audit');
  return fetch(input, { ...init, headers });
};
const results = await auditServer({ url, fetchFn });
const counts = { ok: 0, warn: 0, error: 0 };
for (const r of results) {
  counts[r.status]++;
  if (r.status !== 'ok') console.log(r.status.toUpperCase(), r.id, r.name, '-', r.reason);
}
console.log(JSON.stringify(counts));
