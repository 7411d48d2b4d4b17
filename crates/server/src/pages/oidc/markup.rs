//! The hosted sign-in pages' markup: the login form, the consent form, the
//! logout confirmation and the forgot-password form. Every value from a
//! request or the store goes in escaped ([`Html::text`]); nothing here
//! decides anything.

use crate::pages::html::Html;

/// The login form: `email`, `password`, the CSRF value and the pending
/// authorization request (re-validated when it comes back).
pub(super) struct LoginForm<'a> {
    pub csrf: &'a str,
    pub request: &'a str,
    pub email: &'a str,
    pub client_name: &'a str,
    pub error: Option<&'a str>,
    pub notice: Option<&'a str>,
    pub registration_open: bool,
    /// Offer "Sign in with a passkey" (shown by `/assets/passkey-login.js`).
    pub passkeys: bool,
}

impl LoginForm<'_> {
    pub(super) fn render(&self, product: &str) -> Html {
        let mut b = Html::new();
        b.raw("<section class=\"panel signin\">")
            .raw("<h2>Sign in</h2>")
            .raw("<p class=\"muted\" id=\"client\">to continue to <strong>")
            .text(self.client_name)
            .raw("</strong> with your ")
            .text(product)
            .raw(" account.</p>");
        if let Some(n) = self.notice {
            b.raw("<p id=\"notice\" class=\"result ok\" role=\"status\">")
                .text(n)
                .raw("</p>");
        }
        if let Some(e) = self.error {
            b.raw("<p id=\"error\" class=\"result bad\" role=\"alert\">")
                .text(e)
                .raw("</p>");
        }
        b.raw("<form id=\"login-form\" method=\"post\" action=\"/oauth2/login\">")
            .hidden("csrf", self.csrf)
            .hidden("request", self.request)
            .raw("<label for=\"email\">Email</label>")
            .raw("<input type=\"email\" id=\"email\" name=\"email\" autocomplete=\"username\" ")
            .raw("required maxlength=\"254\" value=\"")
            .text(self.email)
            .raw("\">")
            .raw("<label for=\"password\">Password</label>")
            .raw("<input type=\"password\" id=\"password\" name=\"password\" ")
            .raw("autocomplete=\"current-password\" required maxlength=\"1024\">")
            .raw("<button type=\"submit\" id=\"submit\">Sign in</button>")
            .raw("</form>");
        if self.passkeys {
            passkey_form(&mut b, self.csrf, self.request);
        }
        b.raw("<p class=\"links\">")
            .raw("<a id=\"forgot\" href=\"/account/forgot\">Forgot your password?</a>");
        if self.registration_open {
            let query: String = form_urlencoded::Serializer::new(String::new())
                .append_pair("request", self.request)
                .finish();
            b.raw(" · <a id=\"register\" href=\"/account/register?")
                .text(&query)
                .raw("\">Create an account</a>");
        }
        b.raw("</p></section>");
        b
    }
}

/// The passkey sign-in: a button the page's script shows (where the browser
/// has WebAuthn), and the form it fills with the ceremony and the
/// assertion. Without script nothing of it shows; the password form works.
fn passkey_form(b: &mut Html, csrf: &str, request: &str) {
    b.raw("<form id=\"passkey-form\" method=\"post\" action=\"/oauth2/login/passkey\" hidden>")
        .hidden("csrf", csrf)
        .hidden("request", request)
        .raw("<input type=\"hidden\" name=\"ceremony\" id=\"passkey-ceremony\">")
        .raw("<input type=\"hidden\" name=\"credential\" id=\"passkey-credential\">")
        .raw("<button type=\"button\" id=\"passkey\" class=\"secondary\">")
        .raw("Sign in with a passkey</button>")
        .raw("<p id=\"passkey-error\" class=\"result bad\" role=\"alert\" hidden></p>")
        .raw("</form>");
}

/// What a scope lets the client do, in words; `None` for a scope without a
/// description (an API scope), shown by its name.
fn describe_scope(scope: &str) -> Option<&'static str> {
    Some(match scope {
        "openid" => "Know who you are (your account identifier)",
        "profile" => "See your basic profile",
        "email" => "See your email address and whether it is verified",
        "offline_access" => "Stay signed in when you are not using it",
        _ => return None,
    })
}

/// The consent form: the scopes asked for, Allow and Deny.
pub(super) struct ConsentForm<'a> {
    pub csrf: &'a str,
    pub request: &'a str,
    pub client_name: &'a str,
    pub scopes: &'a [String],
}

impl ConsentForm<'_> {
    pub(super) fn render(&self) -> Html {
        let mut b = Html::new();
        b.raw("<section class=\"panel consent\">")
            .raw("<h2><span id=\"client\">")
            .text(self.client_name)
            .raw("</span> wants to access your account</h2>")
            .raw("<p class=\"muted\">If you allow it, it will be able to:</p><ul id=\"scopes\">");
        for s in self.scopes {
            b.raw("<li data-scope=\"").text(s).raw("\">");
            match describe_scope(s) {
                Some(d) => b.text(d),
                None => b
                    .raw("Use the API permission <code>")
                    .text(s)
                    .raw("</code>"),
            };
            b.raw("</li>");
        }
        b.raw("</ul><form id=\"consent-form\" method=\"post\" action=\"/oauth2/consent\">")
            .hidden("csrf", self.csrf)
            .hidden("request", self.request)
            .raw("<button type=\"submit\" id=\"allow\" name=\"decision\" value=\"allow\">Allow</button>")
            .raw("<button type=\"submit\" id=\"deny\" class=\"secondary\" name=\"decision\" ")
            .raw("value=\"deny\">Deny</button></form></section>");
        b
    }
}

/// The logout confirmation (RP-initiated logout without a valid hint).
pub(super) struct LogoutForm<'a> {
    pub csrf: &'a str,
    pub client_id: &'a str,
    pub post_logout_redirect_uri: &'a str,
    pub state: &'a str,
}

impl LogoutForm<'_> {
    pub(super) fn render(&self, product: &str) -> Html {
        let mut b = Html::new();
        b.raw("<section class=\"panel\"><h2>Sign out</h2><p>Do you want to sign out of ")
            .text(product)
            .raw("?</p><form id=\"logout-form\" method=\"post\" action=\"/oauth2/logout\">")
            .hidden("csrf", self.csrf)
            .hidden("confirm", "yes");
        if !self.client_id.is_empty() {
            b.hidden("client_id", self.client_id);
        }
        if !self.post_logout_redirect_uri.is_empty() {
            b.hidden("post_logout_redirect_uri", self.post_logout_redirect_uri);
        }
        if !self.state.is_empty() {
            b.hidden("state", self.state);
        }
        b.raw("<button type=\"submit\" id=\"confirm\">Sign out</button></form></section>");
        b
    }
}

/// The forgot-password form (no-JavaScript; posts to `/account/forgot`).
pub(super) fn forgot_form(csrf: &str, message: Option<(bool, &str)>) -> Html {
    let mut b = Html::new();
    b.raw("<section class=\"panel\"><h2>Forgot your password?</h2>")
        .para(
            "muted",
            "Enter your account's email address. If it belongs to an account, a link to \
             choose a new password is sent to it.",
        );
    if let Some((ok, text)) = message {
        b.raw(if ok {
            "<p id=\"result\" class=\"result ok\" role=\"status\">"
        } else {
            "<p id=\"result\" class=\"result bad\" role=\"alert\">"
        })
        .text(text)
        .raw("</p>");
    }
    b.raw("<form id=\"forgot-form\" method=\"post\" action=\"/account/forgot\">")
        .hidden("csrf", csrf)
        .raw("<label for=\"email\">Email</label>")
        .raw("<input type=\"email\" id=\"email\" name=\"email\" autocomplete=\"username\" ")
        .raw("required maxlength=\"254\">")
        .raw("<button type=\"submit\" id=\"submit\">Send the link</button></form></section>");
    b
}

/// The registration form (no-JavaScript; posts to `/account/register`),
/// carrying the pending authorization request, if any.
pub(super) fn register_form(csrf: &str, request: &str, email: &str, error: Option<&str>) -> Html {
    let mut b = Html::new();
    b.raw("<section class=\"panel\"><h2>Create an account</h2>");
    if let Some(e) = error {
        b.raw("<p id=\"error\" class=\"result bad\" role=\"alert\">")
            .text(e)
            .raw("</p>");
    }
    b.raw("<form id=\"register-form\" method=\"post\" action=\"/account/register\">")
        .hidden("csrf", csrf)
        .hidden("request", request)
        .raw("<label for=\"email\">Email</label>")
        .raw("<input type=\"email\" id=\"email\" name=\"email\" autocomplete=\"username\" ")
        .raw("required maxlength=\"254\" value=\"")
        .text(email)
        .raw("\"><label for=\"password\">Password</label>")
        .raw("<input type=\"password\" id=\"password\" name=\"password\" ")
        .raw("autocomplete=\"new-password\" required minlength=\"8\" maxlength=\"1024\">")
        .raw("<button type=\"submit\" id=\"submit\">Create the account</button></form></section>");
    b
}
