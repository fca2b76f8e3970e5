// A frontend's view of live status: the npm `graphql-ws` client subscribes, prints
// the first event as JSON on stdout, and exits. Run with NODE_PATH=web/node_modules.
//   node subscribe.cjs <ws url> <session token> <subscription document>
const { createClient } = require("graphql-ws");
const WebSocket = require("ws");

const [url, token, query] = process.argv.slice(2);
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
  { query },
  {
    next: (result) => {
      process.stdout.write(JSON.stringify(result) + "\n");
      clearTimeout(timer);
      client.dispose();
      process.exit(0);
    },
    error: (error) => {
      console.error(JSON.stringify(error.message || error.reason || String(error)));
      process.exit(1);
    },
    complete: () => {},
  },
);
console.error("subscribed");
