// Live status over Server-Sent Events with the npm graphql-sse client (its distinct
// connections mode: one `text/event-stream` request per subscription to
// /graphql/stream), the subscription by id and the session in the header.
import { createClient, type ExecutionResult, type RequestParams } from "graphql-sse";
import { documentId, endpoint } from "./client";
import {
  RequestUpdatedDocument,
  type RequestUpdatedSubscription,
  type RequestUpdatedSubscriptionVariables,
} from "./gql/graphql";
import type { RequestEvent } from "./live-ws";

export function watchOverSse(
  token: string,
  variables: RequestUpdatedSubscriptionVariables,
  onEvent: (event: RequestEvent) => void,
): () => void {
  const client = createClient({
    url: `${endpoint}/stream`,
    headers: { Authorization: `Bearer ${token}` },
  });
  const request: RequestParams & { documentId: string } = {
    query: "",
    documentId: documentId(RequestUpdatedDocument),
    variables,
  };
  return client.subscribe<RequestUpdatedSubscription>(request, {
    next: (result: ExecutionResult<RequestUpdatedSubscription>) => {
      if (result.data) onEvent(result.data.requestUpdated);
    },
    error: (error) => console.error(error),
    complete: () => {},
  });
}
