//! Server-rendered HTML: a markup type that can only grow by escaped text or
//! `'static` literals, the pages' shared layout, and the security headers
//! every page carries.

use axum::http::{header, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

/// The pages' Content-Security-Policy: the debugger's (scripts, styles and
/// connections to this origin only, no inline code, no framing), except that
/// a form may post, to this origin only (`form-action 'self'`), since the
/// pages must work without JavaScript.
pub(crate) const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'self'; \
     frame-ancestors 'none'";

/// Escapes text for an HTML element body or a double- or single-quoted
/// attribute value.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Markup that is safe by construction: it grows only by [`Html::raw`]
/// (`'static` literals written in this crate) and [`Html::text`] (escaped),
/// so request data cannot reach a page unescaped.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Html(String);

impl Html {
    /// Empty markup.
    pub fn new() -> Self {
        Html(String::new())
    }

    /// Appends a literal written in the source.
    pub fn raw(&mut self, markup: &'static str) -> &mut Self {
        self.0.push_str(markup);
        self
    }

    /// Appends text, escaped.
    pub fn text(&mut self, text: &str) -> &mut Self {
        self.0.push_str(&escape(text));
        self
    }

    /// Appends other safe markup.
    pub fn html(&mut self, other: &Html) -> &mut Self {
        self.0.push_str(&other.0);
        self
    }

    /// `<p class="{class}">{text}</p>`, the text escaped.
    pub fn para(&mut self, class: &'static str, text: &str) -> &mut Self {
        self.raw("<p class=\"")
            .raw(class)
            .raw("\">")
            .text(text)
            .raw("</p>")
    }

    /// A hidden form field; the value escaped.
    pub fn hidden(&mut self, name: &'static str, value: &str) -> &mut Self {
        self.raw("<input type=\"hidden\" name=\"")
            .raw(name)
            .raw("\" value=\"")
            .text(value)
            .raw("\">")
    }
}

/// One page: a status, a title, a body, an optional script and an optional
/// cookie. As a response it is the whole document with the pages' headers.
#[derive(Debug)]
pub struct Page {
    /// The HTTP status.
    pub status: StatusCode,
    /// The title (escaped when rendered).
    pub title: String,
    /// What goes inside `<main>`.
    pub body: Html,
    /// A module script from this origin (`/assets/...`), if any.
    pub script: Option<&'static str>,
    /// A `Set-Cookie` to send (the CSRF cookie).
    pub set_cookie: Option<HeaderValue>,
    /// The hosted sign-in pages' brand; `None`: Tessera's own.
    pub brand: Option<Box<Brand>>,
}

/// The CSP source expression of a redirect URI a form's answer may go to:
/// `https://host[:port]` (or `http://` on loopback), or `scheme:` for a
/// native app's private-use scheme. `None` if it is anything else, or holds
/// a character that could end a CSP source.
pub fn form_action_source(uri: &str) -> Option<String> {
    let (scheme, rest) = uri.split_once(':')?;
    let scheme_ok = !scheme.is_empty()
        && scheme
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_alphabetic())
        && scheme
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b));
    if !scheme_ok {
        return None;
    }
    let scheme = scheme.to_ascii_lowercase();
    match rest.strip_prefix("//") {
        Some(auth) if scheme == "https" || scheme == "http" => {
            let end = auth.find(['/', '?', '#']).unwrap_or(auth.len());
            let host = &auth[..end];
            let ok = !host.is_empty()
                && host
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-.:[]".contains(&b));
            ok.then(|| format!("{scheme}://{host}"))
        }
        _ if scheme == "https" || scheme == "http" => None,
        _ => Some(format!("{scheme}:")),
    }
}

/// A product's look on the hosted sign-in pages (`login_*` settings, checked
/// at start-up).
#[derive(Debug, Clone, Default)]
pub struct Brand {
    /// The product name (escaped when rendered).
    pub name: String,
    /// The logo's address: a path here or an `https://` URL.
    pub logo: Option<String>,
    /// The logo's origin when it is elsewhere, added to `img-src`.
    pub logo_origin: Option<String>,
    /// Whether `/oauth2/theme.css` (the accent colour) is linked.
    pub themed: bool,
    /// One more `form-action` source (see [`form_action_source`]): where
    /// the page's form may end up. Browsers apply `form-action` to the
    /// redirects that follow a form post too, so a login or consent form
    /// whose answer redirects to a client must name the client's origin.
    pub form_action: Option<String>,
}

impl Page {
    /// A page without script or cookie.
    pub fn new(status: StatusCode, title: &str, body: Html) -> Self {
        Page {
            status,
            title: title.to_owned(),
            body,
            script: None,
            set_cookie: None,
            brand: None,
        }
    }

    /// A result page: a heading and one message, marked `ok` or `bad`.
    pub fn message(status: StatusCode, title: &str, message: &str) -> Self {
        let class = if status.is_success() {
            "result ok"
        } else {
            "result bad"
        };
        let mut body = Html::new();
        body.raw("<section class=\"panel\" aria-live=\"polite\">")
            .raw("<h2>")
            .text(title)
            .raw("</h2>")
            .raw("<p id=\"result\" class=\"")
            .raw(class)
            .raw("\" role=\"status\">")
            .text(message)
            .raw("</p></section>");
        Page::new(status, title, body)
    }

    /// The whole document.
    pub fn render(&self) -> String {
        let name = self.brand.as_ref().map_or("Tessera", |b| b.name.as_str());
        let mut doc = Html::new();
        doc.raw("<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n")
            .raw("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n")
            .raw("<meta name=\"referrer\" content=\"no-referrer\">\n")
            .raw("<meta name=\"robots\" content=\"noindex\">\n<title>")
            .text(&self.title)
            .raw(" · ")
            .text(name)
            .raw("</title>\n<link rel=\"icon\" href=\"data:,\">\n")
            .raw("<link rel=\"stylesheet\" href=\"/assets/tessera.css\">\n")
            .raw("<link rel=\"stylesheet\" href=\"/assets/account.css\">\n");
        if self.brand.as_ref().is_some_and(|b| b.themed) {
            doc.raw("<link rel=\"stylesheet\" href=\"/oauth2/theme.css\">\n");
        }
        if let Some(src) = self.script {
            doc.raw("<script type=\"module\" src=\"")
                .raw(src)
                .raw("\"></script>\n");
        }
        doc.raw("</head>\n<body>\n<header class=\"top\"><h1>");
        if let Some(logo) = self.brand.as_ref().and_then(|b| b.logo.as_deref()) {
            doc.raw("<img class=\"logo\" src=\"")
                .text(logo)
                .raw("\" alt=\"\" height=\"32\"> ");
        }
        doc.raw("<span class=\"brand\">")
            .text(name)
            .raw("</span> ")
            .text(&self.title)
            .raw("</h1></header>\n<main class=\"account\">\n")
            .html(&self.body)
            .raw("\n</main>\n</body>\n</html>\n");
        doc.0
    }
}

/// Adds the headers every page carries: the CSP, `no-store` (a page may hold
/// a token or a CSRF value), `no-referrer`, `nosniff`, no framing, and
/// same-origin opener and resource policies.
pub fn secure_headers(res: &mut Response) {
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        HeaderName::from_static("cross-origin-opener-policy"),
        HeaderValue::from_static("same-origin"),
    );
    h.insert(
        HeaderName::from_static("cross-origin-resource-policy"),
        HeaderValue::from_static("same-origin"),
    );
}

impl IntoResponse for Page {
    fn into_response(self) -> Response {
        let mut res = (
            self.status,
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            )],
            self.render(),
        )
            .into_response();
        secure_headers(&mut res);
        let logo = self.brand.as_ref().and_then(|b| b.logo_origin.as_deref());
        let target = self.brand.as_ref().and_then(|b| b.form_action.as_deref());
        if logo.is_some() || target.is_some() {
            let mut csp = CSP.to_owned();
            if let Some(origin) = logo {
                csp = csp.replace(
                    "img-src 'self' data:",
                    &format!("img-src 'self' data: {origin}"),
                );
            }
            if let Some(src) = target {
                csp = csp.replace("form-action 'self'", &format!("form-action 'self' {src}"));
            }
            if let Ok(v) = HeaderValue::from_str(&csp) {
                res.headers_mut().insert(header::CONTENT_SECURITY_POLICY, v);
            }
        }
        if let Some(cookie) = self.set_cookie {
            res.headers_mut().append(header::SET_COOKIE, cookie);
        }
        res
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped_and_literals_are_not() {
        let mut h = Html::new();
        h.raw("<b>")
            .text("<script>alert('x')</script> & \"q\"")
            .raw("</b>");
        assert_eq!(
            h.0,
            "<b>&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot;</b>"
        );
        let mut f = Html::new();
        f.hidden("token", "a\"><img src=x>");
        assert_eq!(
            f.0,
            "<input type=\"hidden\" name=\"token\" value=\"a&quot;&gt;&lt;img src=x&gt;\">"
        );
    }

    #[test]
    fn form_action_sources() {
        let src = |u: &str| form_action_source(u);
        assert_eq!(
            src("https://app.example/cb?x=1").as_deref(),
            Some("https://app.example")
        );
        assert_eq!(
            src("http://127.0.0.1:8080/cb").as_deref(),
            Some("http://127.0.0.1:8080")
        );
        assert_eq!(
            src("com.example.app:/oauth").as_deref(),
            Some("com.example.app:")
        );
        for bad in [
            "https://a b/",
            "https://a;b/",
            "https:x",
            "no-scheme",
            "1x:/y",
            "https://",
        ] {
            assert_eq!(src(bad), None, "{bad}");
        }
    }

    #[test]
    fn the_layout_escapes_the_title_and_has_no_inline_code() {
        let page = Page::message(StatusCode::BAD_REQUEST, "<t>", "m&m");
        let doc = page.render();
        assert!(doc.contains("<title>&lt;t&gt; · Tessera</title>"));
        assert!(doc.contains("m&amp;m"));
        assert!(!doc.contains("<t>"));
        assert!(!doc.contains("<script>") && !doc.contains("<style") && !doc.contains(" style="));
    }
}
