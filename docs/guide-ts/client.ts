// The urql client of the examples. Queries go as GET (cacheable) when the URL is short
// enough, and by id: the persisted exchange sends each document's id from the manifest
// (`extensions.persistedQuery.sha256Hash`) instead of its text, which a server with
// KABINET_TRUSTED_DOCUMENTS=require insists on. kabinet refuses a GET without the
// `GraphQL-Require-Preflight` header (a cross-site page cannot add it without a CORS
// preflight), so every request carries it.
import { Client, fetchExchange, type TypedDocumentNode } from "@urql/core";
import { persistedExchange } from "@urql/exchange-persisted";

export const endpoint = "https://kabinet.example.com/graphql";

/** The id graphql-codegen gave a document (client preset, `persistedDocuments: true`). */
export function documentId(document: TypedDocumentNode<any, any>): string {
  const hash = (document as { __meta__?: { hash?: string } }).__meta__?.hash;
  if (!hash) throw new Error("not a document from the manifest");
  return hash;
}

export function apiClient(token?: string): Client {
  return new Client({
    url: endpoint,
    preferGetMethod: "within-url-limit",
    fetchOptions: () => ({
      headers: {
        "GraphQL-Require-Preflight": "1",
        ...(token ? { Authorization: `Bearer ${token}` } : {}),
      },
    }),
    exchanges: [
      persistedExchange({
        enforcePersistedQueries: true, // never the document's text
        enableForMutation: true,
        preferGetForPersistedQueries: "within-url-limit",
        generateHash: async (_query, document) => documentId(document),
      }),
      fetchExchange,
    ],
  });
}
