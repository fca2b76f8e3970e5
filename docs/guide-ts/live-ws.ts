// Live status over the WebSocket with the npm graphql-ws client, the subscription by id.
import { createClient, type ExecutionResult, type SubscribePayload } from "graphql-ws";
import { documentId } from "./client";
import {
  RequestUpdatedDocument,
  type RequestUpdatedSubscription,
  type RequestUpdatedSubscriptionVariables,
} from "./gql/graphql";

export type RequestEvent = RequestUpdatedSubscription["requestUpdated"];

export function watchOverWebSocket(
  token: string,
  variables: RequestUpdatedSubscriptionVariables,
  onEvent: (event: RequestEvent) => void,
): () => void {
  const client = createClient({
    url: "wss://kabinet.example.com/graphql",
    connectionParams: { token },
  });
  // The document's text stays out of the payload: `query` is empty, `documentId` names it.
  const payload: SubscribePayload & { documentId: string } = {
    query: "",
    documentId: documentId(RequestUpdatedDocument),
    variables,
  };
  return client.subscribe<RequestUpdatedSubscription>(payload, {
    next: (result: ExecutionResult<RequestUpdatedSubscription>) => {
      if (result.data) onEvent(result.data.requestUpdated);
    },
    error: (error) => console.error(error),
    complete: () => {},
  });
}
