// A frontend's view of live status over Server-Sent Events: the npm `graphql-sse`
// client subscribes, prints the first <count> results as a JSON array on stdout, and
// exits; an error is printed on stderr (an HTTP status as `status <code>`), exit 1.
// Run with NODE_PATH=web/node_modules.
//   node sse.cjs <stream url> <session token> <subscription document> <distinct|single>
//     <count> [<variables as JSON>]
const { createClient } = require("graphql-sse");

const [url, token, query, mode, count, variables] = process.argv.slice(2);
const client = createClient({
  url,
  singleConnection: mode === "single",
  headers: token ? { Authorization: `Bearer ${token}` } : {},
  retryAttempts: 0,
});

const timer = setTimeout(() => {
  console.error("no event within 20 s");
  process.exit(2);
}, 20000);

const results = [];
client.subscribe(
  { query, variables: JSON.parse(variables || "{}") },
  {
    next: (result) => {
      results.push(result);
      if (results.length < Number(count)) return;
      process.stdout.write(JSON.stringify(results) + "\n");
      clearTimeout(timer);
      client.dispose();
      process.exit(0);
    },
    error: (error) => {
      const status = error && error.response ? `status ${error.response.status}` : "";
      console.error(status || String(error && error.message ? error.message : error));
      process.exit(1);
    },
    complete: () => {},
  },
);
