-- A fixed request (jwks, client_credentials): BENCH_METHOD, BENCH_PATH,
-- BENCH_BODY, BENCH_CTYPE, BENCH_AUTH (an Authorization header value).
package.path = os.getenv("BENCH_WRK_DIR") .. "/?.lua;" .. package.path
local c = require("common")

wrk.method = os.getenv("BENCH_METHOD") or "GET"
wrk.path = os.getenv("BENCH_PATH") or "/"
local body = os.getenv("BENCH_BODY")
if body and body ~= "" then wrk.body = body end
local ctype = os.getenv("BENCH_CTYPE")
if ctype and ctype ~= "" then wrk.headers["Content-Type"] = ctype end
local auth = os.getenv("BENCH_AUTH")
if auth and auth ~= "" then wrk.headers["Authorization"] = auth end

setup = c.setup
done = c.done
function init(args) c.init_counters() end
function response(status, headers, body) c.ok(status) end
