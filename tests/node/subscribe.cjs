// A frontend's view of live status: the npm `graphql-ws` client subscribes, prints
// the first event as JSON on stdout, and exits; a refusal is printed as JSON on stderr
// (exit 1). Run with NODE_PATH=web/node_modules.
//   node subscribe.cjs <ws url> <session token> <subscription document> [payload JSON]
// The payload's fields join the document's, e.g. `{"documentId": ..., "variables": ...}`
// with an empty document: a trusted document by id.
const { createClient } = require("graphql-ws");
const WebSocket = require("ws");

const [url, token, query, payload] = process.argv.slice(2);
const client = createClient({
  url,
  webSocketImpl: WebSocket,
  connectionParams: { token },
  retryAttempts: 0,
});

const timer = setTimeout(() => {
  console.error("no event within 20 s");
  process.exit(2);
}, 20000);

client.subscribe(
  { query, ...JSON.parse(payload || "{}") },
  {
    next: (result) => {
      process.stdout.write(JSON.stringify(result) + "\n");
      clearTimeout(timer);
      client.dispose();
      process.exit(0);
    },
    error: (error) => {
      // The protocol's `error` message gives the GraphQL errors themselves.
      const told = Array.isArray(error) ? error : error.message || error.reason || String(error);
      console.error(JSON.stringify(told));
      process.exit(1);
    },
    complete: () => {},
  },
);
console.error("subscribed");
