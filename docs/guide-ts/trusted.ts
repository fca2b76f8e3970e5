// Trusted documents without a client library: any document of the manifest by its id,
// over GET (queries) or POST, typed by the document.
import type { TypedDocumentNode } from "@urql/core";
import { documentId, endpoint } from "./client";
import { PasswordPolicyDocument, type PasswordPolicyQuery } from "./gql/graphql";

export async function byId<Result, Variables extends Record<string, unknown>>(
  document: TypedDocumentNode<Result, Variables>,
  variables: Variables,
  { token, method = "POST" }: { token?: string; method?: "GET" | "POST" } = {},
): Promise<Result> {
  const headers: Record<string, string> = { "GraphQL-Require-Preflight": "1" };
  if (token) headers.Authorization = `Bearer ${token}`;
  const id = documentId(document);
  const response =
    method === "GET"
      ? await fetch(
          `${endpoint}?${new URLSearchParams({ documentId: id, variables: JSON.stringify(variables) })}`,
          { headers },
        )
      : await fetch(endpoint, {
          method: "POST",
          headers: { ...headers, "Content-Type": "application/json" },
          body: JSON.stringify({ documentId: id, variables }),
        });
  const body: { data?: Result; errors?: { message: string; extensions?: { code?: string } }[] } =
    await response.json();
  // PERSISTED_QUERY_NOT_FOUND: the server has an older manifest than this build.
  if (!body.data) throw new Error(body.errors?.[0]?.extensions?.code ?? `HTTP ${response.status}`);
  return body.data;
}

export async function passwordRules(): Promise<PasswordPolicyQuery["passwordPolicy"]> {
  return (await byId(PasswordPolicyDocument, {}, { method: "GET" })).passwordPolicy;
}
