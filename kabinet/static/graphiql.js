// GraphiQL for kabinet, served from the API itself so it works offline.
// Queries and mutations go over HTTP, subscriptions over graphql-transport-ws.
// Sign in with the `login` mutation, then put {"Authorization": "Bearer <token>"}
// into the Headers tab; the WebSocket uses the same token in connection_init.
(function () {
  const url = new URL("/graphql", window.location.href).toString();
  const wsUrl = url.replace(/^http/, "ws");
  let headers = {};
  try {
    headers = JSON.parse(localStorage.getItem("graphiql:headers") || "{}") || {};
  } catch (_) {
    headers = {};
  }
  const token = (headers.Authorization || headers.authorization || "").replace(/^Bearer\s+/i, "");
  const fetcher = GraphiQL.createFetcher({
    url,
    wsClient: graphqlWs.createClient({
      url: wsUrl,
      lazy: true,
      connectionParams: token ? { token } : {},
    }),
  });
  const defaultQuery = `# Welcome to kabinet, the personal cabinet API.
#
# Start with the password rules, then register, confirm the emailed link
# with confirmEmail, and sign in with login. Put the token you get into
# Headers as {"Authorization": "Bearer <token>"} and ask for "me".
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
