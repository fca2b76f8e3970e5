// Upload: the multipart request by the GraphQL multipart request spec, with the document
// by id (`documentId`); the variables are checked against the document's own type.
import { documentId, endpoint } from "./client";
import {
  CreateRequestDocument,
  type CreateRequestMutation,
  type CreateRequestMutationVariables,
  type ReimbursementInput,
} from "./gql/graphql";

export async function fileReimbursement(
  token: string,
  claim: Omit<ReimbursementInput, "documents">,
  files: File[],
): Promise<CreateRequestMutation["createRequest"]> {
  const variables: CreateRequestMutationVariables = {
    input: { reimbursement: { ...claim, documents: files.map(() => null) } },
    idempotencyKey: crypto.randomUUID(),
  };
  const operations = { documentId: documentId(CreateRequestDocument), variables };
  const map = Object.fromEntries(
    files.map((_, i) => [String(i), [`variables.input.reimbursement.documents.${i}`]]),
  );
  const form = new FormData();
  form.append("operations", JSON.stringify(operations));
  form.append("map", JSON.stringify(map));
  files.forEach((file, i) => form.append(String(i), file, file.name));
  const response = await fetch(endpoint, {
    method: "POST",
    headers: { Authorization: `Bearer ${token}`, "GraphQL-Require-Preflight": "1" },
    body: form,
  });
  const body: { data?: CreateRequestMutation; errors?: { message: string }[] } =
    await response.json();
  if (!body.data) throw new Error(body.errors?.[0]?.message ?? `HTTP ${response.status}`);
  return body.data.createRequest;
}
