// The GraphQL over HTTP spec audit of the npm `graphql-http` package against a live
// server; prints one JSON array of {id, name, status, reason} on stdout.
// Run with NODE_PATH=web/node_modules.
//   node audit.cjs <http url of /graphql>
const { auditServer } = require("graphql-http");

const [url] = process.argv.slice(2);

// Every request carries `GraphQL-Require-Preflight`, as any non-browser client may:
// the server's CSRF rule refuses a GET or a body without a JSON content type unless
// the client proves it is not a forged cross-site form (a browser cannot add the
// header without a CORS preflight).
function fetchFn(input, init = {}) {
  const headers = new Headers(init.headers);
  headers.set("GraphQL-Require-Preflight", "1");
  return fetch(input, { ...init, headers });
}

auditServer({ url, fetchFn }).then(
  (results) => {
    const summary = results.map(({ id, name, status, reason }) => ({ id, name, status, reason }));
    process.stdout.write(JSON.stringify(summary) + "\n");
  },
  (error) => {
    console.error(error && error.stack ? error.stack : String(error));
    process.exit(1);
  },
);
