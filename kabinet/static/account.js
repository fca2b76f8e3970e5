// The pages behind the emailed links (guide 1.5 and password reset) for a cabinet
// served by kabinet itself; a production frontend hosts its own at KABINET_PUBLIC_URL.
(function () {
  const token = new URLSearchParams(window.location.search).get("token") || "";
  const reset = window.location.pathname.startsWith("/reset-password");
  const $ = (id) => document.getElementById(id);
  const language = (navigator.language || "uk").slice(0, 2) === "en" ? "en" : "uk";
  if (reset) {
    $("title").textContent = language === "en" ? "New password" : "Новий пароль";
    $("confirmation-label").hidden = false;
    $("confirmation").required = true;
    $("password").autocomplete = "new-password";
  } else {
    $("hint").textContent = language === "en"
      ? "Enter your password to confirm the email address."
      : "Введіть свій пароль, щоб підтвердити електронну адресу.";
  }
  const authResult = `__typename
    ... on AuthSuccess { token user { email } }
    ... on Error { message }
    ... on InputError { fields { message } }`;
  const confirmQuery = `mutation($input: ConfirmEmailInput!) { result: confirmEmail(input: $input) { ${authResult} } }`;
  const resetQuery = `mutation($input: ResetPasswordInput!) { result: resetPassword(input: $input) { ${authResult} } }`;

  $("form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const password = $("password").value;
    const input = reset
      ? { token, password, passwordConfirmation: $("confirmation").value }
      : { token, password };
    const response = await fetch("/graphql", {
      method: "POST",
      headers: { "Content-Type": "application/json", "Accept-Language": language },
      body: JSON.stringify({ query: reset ? resetQuery : confirmQuery, variables: { input } }),
    });
    const body = await response.json();
    const result = body.data && body.data.result;
    const out = $("result");
    if (result && result.__typename === "AuthSuccess") {
      out.className = "ok";
      out.textContent = (language === "en" ? "Done, you are signed in as " : "Готово, ви увійшли як ")
        + result.user.email + ". Bearer token: " + result.token;
      $("form").hidden = true;
    } else {
      out.className = "error";
      const fields = (result && result.fields) || [];
      out.textContent = fields.length
        ? fields.map((f) => f.message).join(" ")
        : (result && result.message) || (body.errors && body.errors[0].message) || "Error";
    }
  });
  // Enabled only now: a submit before this script ran would reload the page and drop the token.
  document.querySelector("button[type=submit]").disabled = false;
})();
