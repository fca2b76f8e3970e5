// Paging: follow `pageInfo.endCursor` while `hasNextPage`.
import type { OperationResult } from "@urql/core";
import { apiClient } from "./client";
import { MyRequestsDocument, type MyRequestsQuery, type RequestStatus } from "./gql/graphql";

type Page = NonNullable<MyRequestsQuery["me"]>["requests"];
type RequestRow = Page["edges"][number]["node"];

export async function allMyRequests(
  token: string,
  statuses: RequestStatus[] = [],
): Promise<RequestRow[]> {
  const client = apiClient(token);
  const rows: RequestRow[] = [];
  let after: string | null = null;
  for (;;) {
    const filter = statuses.length ? { statuses } : null;
    const result: OperationResult<MyRequestsQuery> = await client.query(MyRequestsDocument, { first: 50, after, filter });
    const page: Page | undefined = result.data?.me?.requests;
    if (!page) throw result.error ?? new Error("signed out");
    rows.push(...page.edges.map((edge) => edge.node));
    if (!page.pageInfo.hasNextPage) return rows;
    after = page.pageInfo.endCursor;
  }
}
