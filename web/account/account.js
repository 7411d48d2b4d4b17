// The account pages (/account/reset, /account/verify) when JavaScript runs.
//
// The server renders a form that works on its own (a plain POST with a CSRF
// field). This script, when it runs:
//  1. takes the link's token and removes it from the address bar at once
//     (history.replaceState), so it stays out of history, bookmarks and
//     screenshots;
//  2. calls the JSON API instead of posting the form: at once for
//     /account/verify, on submit for /account/reset;
//  3. says what happened in the page's status line.
const SPENT = 'This link has already been used, has expired, or is not valid. Ask for a new one and use the newest email.';

const form = document.getElementById('account-form');
const result = document.getElementById('result');

/** The link's token: from the address bar (then removed from it), else the form. */
function takeToken() {
  const url = new URL(window.location.href);
  const fromUrl = url.searchParams.get('token');
  if (url.searchParams.has('token')) {
    url.searchParams.delete('token');
    const rest = url.searchParams.toString();
    window.history.replaceState(null, '', url.pathname + (rest ? `?${rest}` : '') + url.hash);
  }
  return fromUrl || form.elements.token.value;
}

function say(ok, text) {
  result.textContent = text;
  result.className = ok ? 'result ok' : 'result bad';
  result.hidden = false;
}

/** The sentence for a refused call: the server's own words where they help. */
async function refusal(res) {
  let body = {};
  try {
    body = await res.json();
  } catch {
    // not JSON: fall through to the status
  }
  if (body.error === 'invalid_grant') return SPENT;
  if (res.status === 429) {
    const wait = res.headers.get('retry-after');
    return `Too many attempts. Try again${wait ? ` in ${wait} seconds` : ' later'}.`;
  }
  if (res.status >= 500) return 'Something went wrong on our side. Nothing was changed; try again in a moment.';
  return body.error_description ? `Not accepted: ${body.error_description}.` : `Not accepted (HTTP ${res.status}).`;
}

async function call(api, body) {
  try {
    return await fetch(api, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
      credentials: 'omit',
      cache: 'no-store',
    });
  } catch {
    return null;
  }
}

async function verify(token) {
  const button = form.querySelector('button');
  button.disabled = true;
  say(true, 'Confirming your email address…');
  const res = await call(form.dataset.api, { token });
  if (res === null) {
    button.disabled = false;
    say(false, 'The server could not be reached. Check your connection and press Confirm again.');
    return;
  }
  if (res.status === 204) {
    form.hidden = true;
    say(true, 'Your email address is confirmed. You can close this page.');
    return;
  }
  const text = await refusal(res);
  if (text === SPENT) form.hidden = true;
  else button.disabled = false;
  say(false, text);
}

function reset(token) {
  const button = form.querySelector('button');
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const password = form.elements.new_password.value;
    if (password !== form.elements.new_password_confirm.value) {
      say(false, 'The two passwords differ. Type the same new password twice.');
      return;
    }
    button.disabled = true;
    const res = await call(form.dataset.api, { token, new_password: password });
    button.disabled = false;
    if (res === null) {
      say(false, 'The server could not be reached. Check your connection and try again.');
      return;
    }
    if (res.status === 204) {
      form.reset();
      form.hidden = true;
      say(
        true,
        'Your password has been changed. Every device that was signed in has been signed out; sign in again with the new password.',
      );
      return;
    }
    const text = await refusal(res);
    if (text === SPENT) form.hidden = true;
    say(false, text);
  });
}

if (form && result) {
  const token = takeToken();
  if (form.dataset.kind === 'verify') {
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      verify(token);
    });
    verify(token);
  } else if (form.dataset.kind === 'reset') {
    reset(token);
  }
}
