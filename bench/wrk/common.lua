-- Shared by every scenario: strict error counting and a JSON summary.
--
-- Every response whose status is not 2xx counts as an error (the response()
-- hook below), on top of wrk's own socket errors (connect/read/write/timeout).
-- Token pools: each wrk thread takes its share of the lines of a file
-- (BENCH_TOKENS), line i going to thread i % BENCH_THREADS.

local M = {}
local threads = {}
local next_id = 0

function M.setup(thread)
  thread:set("tid", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end

-- Lines of a file that belong to this thread.
function M.my_lines(path)
  local n = tonumber(os.getenv("BENCH_THREADS") or "1")
  local out, i = {}, 0
  local f = assert(io.open(path, "r"), "cannot open " .. path)
  for line in f:lines() do
    if line ~= "" then
      if i % n == tid then table.insert(out, line) end
      i = i + 1
    end
  end
  f:close()
  return out
end

-- Counts an error under a name (shown in the summary's "codes").
function M.fail(k)
  errors = errors + 1
  codes[k] = (codes[k] or 0) + 1
  local parts = {}
  for c, v in pairs(codes) do table.insert(parts, c .. "=" .. v) end
  codes_text = table.concat(parts, " ")
end

-- Counts a non-2xx status; returns true if the response was a success.
function M.ok(status)
  if status >= 200 and status <= 299 then return true end
  M.fail("s" .. status)
  return false
end

function M.done(summary, latency, requests)
  local lua_errors, by_code = 0, {}
  for _, t in ipairs(threads) do
    lua_errors = lua_errors + (t:get("errors") or 0)
    local c = t:get("codes_text") or ""
    for k, v in string.gmatch(c, "([%w_]+)=(%d+)") do
      by_code[k] = (by_code[k] or 0) + tonumber(v)
    end
  end
  local e = summary.errors
  local socket = e.connect + e.read + e.write + e.timeout
  local codes_json = {}
  for k, v in pairs(by_code) do table.insert(codes_json, string.format('"%s":%d', k, v)) end
  io.write(string.format(
    'WRKJSON {"requests":%d,"duration_us":%d,"bytes":%d,' ..
    '"p50_us":%d,"p90_us":%d,"p99_us":%d,"p999_us":%d,"max_us":%d,"mean_us":%.1f,' ..
    '"non2xx":%d,"socket_errors":%d,"errors":%d,"codes":{%s}}\n',
    summary.requests, summary.duration, summary.bytes,
    latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency:percentile(99.9), latency.max, latency.mean,
    lua_errors, socket, lua_errors + socket, table.concat(codes_json, ",")))
end

-- Threads keep error codes as text so done() can read them with thread:get.
function M.init_counters()
  errors = 0
  codes = {}
  codes_text = ""
end

-- Optional pacing (for the 50%-of-peak latency run): BENCH_DELAY_MS per
-- request per connection.
local delay_ms = tonumber(os.getenv("BENCH_DELAY_MS") or "0")
if delay_ms > 0 then
  function delay() return delay_ms end
end

return M
