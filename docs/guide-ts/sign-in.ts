// Sign-in: `login` answers a union; switch on `__typename` (codegen makes a misspelt
// member or code a compile error).
import { apiClient } from "./client";
import { LoginDocument, type LoginMutation } from "./gql/graphql";

export type SignIn =
  | { token: string; expiresAt: string }
  | { problem: string; retryAfterSeconds?: number };

export async function signIn(email: string, password: string): Promise<SignIn> {
  const { data, error } = await apiClient().mutation(LoginDocument, {
    input: { email, password },
  });
  if (error || !data) throw error ?? new Error("no answer");
  return outcome(data.login);
}

function outcome(result: LoginMutation["login"]): SignIn {
  switch (result.__typename) {
    case "AuthSuccess":
      return { token: result.token, expiresAt: result.expiresAt };
    case "RateLimited":
      return { problem: result.message, retryAfterSeconds: result.retryAfterSeconds };
    case "NotAllowed": // code EMAIL_NOT_CONFIRMED: offer resendConfirmation
    case "InvalidCredentials":
      return { problem: result.message };
  }
}
