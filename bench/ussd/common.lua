-- Shared by the scripts: one wrk thread per connection, so a thread's Lua state is one
-- connection's (a session's hops must not overlap), and a JSON summary line at the end.
-- The script's arguments (after `--`) are the round number and the run's stamp, so that sessions
-- of a later round, or of a later run on the same data set, never reuse an earlier one's session
-- ids (a production report is saved once per session id and step: a reused id would replay it).
local counter = 0
local threads = {}

function setup(thread)
   thread:set("tid", counter)
   counter = counter + 1
   table.insert(threads, thread)
end

round = "0"

function init(args)
   round = (args[2] or "") .. (args[1] or "0")
end

bad = 0

function response(status, headers, body)
   if status ~= 200 or body:sub(1, 4) ~= "CON " then
      bad = bad + 1
   end
end

function done(summary, latency, requests)
   local total_bad = 0
   for _, t in ipairs(threads) do
      total_bad = total_bad + (t:get("bad") or 0)
   end
   local errors = summary.errors
   io.write(string.format(
      'WRK_JSON {"requests": %d, "duration_s": %.3f, "rps": %.1f, "p50_ms": %.2f, "p99_ms": %.2f, ' ..
      '"max_ms": %.2f, "bad": %d, "socket_errors": %d}\n',
      summary.requests, summary.duration / 1e6, summary.requests / (summary.duration / 1e6),
      latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.max / 1000, total_bad,
      errors.connect + errors.read + errors.write + errors.timeout))
end

-- Members 1..BENCH_LOANS each hold one loan (bench/ussd/run.py sets it from the data set's size).
local loans = tonumber(os.getenv("BENCH_LOANS") or "100000")

function member_of(tid, k)
   -- The same formula as bench/ussd/run.py.
   return ((tid * 1000 + k) * 7919) % loans + 1
end

function phone_of(member)
   return string.format("%%2B22177%07d", member)
end

function hop(session, member, text)
   local body = string.format(
      "sessionId=%s&serviceCode=%%2A384%%2A123%%23&phoneNumber=%s&networkCode=60801&text=%s",
      session, phone_of(member), (text:gsub("%*", "%%2A")))
   return wrk.format("POST", "/ussd", {["Content-Type"] = "application/x-www-form-urlencoded"}, body)
end
