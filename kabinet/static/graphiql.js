// GraphiQL for kabinet, served from the API itself so it works offline.
// Queries and mutations go over HTTP, subscriptions over graphql-transport-ws.
// Sign in with the `login` mutation, then put {"Authorization": "Bearer <token>"}
// into the Headers tab: every run takes the header as it is then, over HTTP and in
// the WebSocket's connection_init alike (no reload needed).
(function () {
  const url = new URL("/graphql", window.location.href).toString();
  const wsUrl = url.replace(/^http/, "ws");
  const FORBIDDEN = 4403; // the server's answer to a connection_init without a live session

  // The Authorization header among those GraphiQL passes with a run (from the Headers tab).
  const authorizationOf = (headers) => {
    const name = Object.keys(headers || {}).find((key) => key.toLowerCase() === "authorization");
    return name ? String(headers[name]) : "";
  };

  // One fetcher per Authorization value, each with a lazy graphql-ws client that opens its
  // socket for the first subscription, signs in with that header in connection_init and
  // closes the socket when its last subscription ends. A changed header therefore gets a
  // new socket, while a subscription started with the previous one (say in another tab)
  // runs on undisturbed.
  const fetchers = new Map();
  const fetcherFor = (authorization) => {
    if (!fetchers.has(authorization)) {
      const wsClient = graphqlWs.createClient({
        url: wsUrl,
        lazy: true,
        connectionParams: authorization ? { Authorization: authorization } : {},
        // A refused sign-in is final: show it at once instead of retrying for half a minute.
        shouldRetry: (closed) => closed instanceof CloseEvent && closed.code !== FORBIDDEN,
      });
      fetchers.set(authorization, GraphiQL.createFetcher({ url, wsClient }));
    }
    return fetchers.get(authorization);
  };
  const fetcher = (params, options) =>
    fetcherFor(authorizationOf(options && options.headers))(params, options);

  const defaultQuery = `# Welcome to kabinet, the personal cabinet API.
#
# Start with the password rules, then register, confirm the emailed link
# with confirmEmail, and sign in with login. Put the token you get into
# Headers as {"Authorization": "Bearer <token>"} and ask for "me", or
# follow your requests live with subscription { requestUpdated { ... } }.
{
  passwordPolicy { minLength requiresUppercase requiresDigit latinOnly }
}
`;
  ReactDOM.createRoot(document.getElementById("graphiql")).render(
    React.createElement(GraphiQL, {
      fetcher,
      defaultQuery,
      defaultEditorToolsVisibility: true,
      shouldPersistHeaders: true,
    }),
  );
})();
