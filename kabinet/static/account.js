// The pages behind the emailed links (confirm the address, set a new password) for a
// cabinet served by kabinet itself; a production frontend hosts its own at
// KABINET_PUBLIC_URL. The server renders the page in the reader's language (from
// Accept-Language); this script sends the form and shows the answer in the same one.
(function () {
  const $ = (id) => document.getElementById(id);
  const token = new URLSearchParams(window.location.search).get("token") || "";
  const reset = $("form").dataset.purpose === "reset";
  const language = document.documentElement.lang;
  const out = $("result");
  const authResult = `__typename
    ... on AuthSuccess { token user { email } }
    ... on Error { message }
    ... on InputError { fields { message } }`;
  const confirmQuery = `mutation($input: ConfirmEmailInput!) { result: confirmEmail(input: $input) { ${authResult} } }`;
  const resetQuery = `mutation($input: ResetPasswordInput!) { result: resetPassword(input: $input) { ${authResult} } }`;

  const send = async (input) => {
    const response = await fetch("/graphql", {
      method: "POST",
      headers: { "Content-Type": "application/json", "Accept-Language": language },
      body: JSON.stringify({ query: reset ? resetQuery : confirmQuery, variables: { input } }),
    });
    return response.json();
  };

  $("form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const password = $("password").value;
    const input = reset
      ? { token, password, passwordConfirmation: $("confirmation").value }
      : { token, password };
    let body;
    try {
      body = await send(input);
    } catch (_) {
      out.className = "error";
      out.textContent = out.dataset.unreachable;
      return;
    }
    const result = body.data && body.data.result;
    if (result && result.__typename === "AuthSuccess") {
      out.className = "ok";
      out.textContent = out.dataset.signedIn
        .replace("{email}", result.user.email)
        .replace("{token}", result.token);
      $("form").hidden = true;
    } else {
      out.className = "error";
      const fields = (result && result.fields) || [];
      out.textContent = fields.length
        ? fields.map((f) => f.message).join(" ")
        : (result && result.message) || body.errors[0].message;
    }
  });
  // Enabled only now: a submit before this script ran would reload the page and drop the token.
  document.querySelector("button[type=submit]").disabled = false;
})();
