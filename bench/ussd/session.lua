-- (d) whole sessions: dial, PIN, balance, main menu, report production (the product, a quantity,
-- confirm: the hop that writes), then the aggregator's end-of-session notice; the next session.
package.path = package.path .. ";bench/ussd/?.lua"
require "common"

local entries = {"4827", "1", "00", "2", "1", "25", "1"}
local k, step, text = 0, 0, ""
local notice = false

function request()
   local member = member_of(tid, k)
   local session = string.format("s-%s-%d-%d", round, tid, k)
   notice = false
   if step == 0 then
      text = ""
   elseif step <= #entries then
      local entry = entries[step]
      if text == "" then text = entry else text = text .. "*" .. entry end
   else
      notice = true
      k = k + 1
      step = 0
      local body = string.format(
         "sessionId=%s&serviceCode=%%2A384%%2A123%%23&phoneNumber=%s&networkCode=60801&status=Success" ..
         "&durationInSeconds=40&input=4827",
         session, phone_of(member))
      return wrk.format("POST", "/ussd/events", {["Content-Type"] = "application/x-www-form-urlencoded"}, body)
   end
   step = step + 1
   return hop(session, member, text)
end

function response(status, headers, body)
   -- Every hop of the session continues (CON); the notice answers an empty 200.
   if status ~= 200 or (not notice and body:sub(1, 4) ~= "CON ") then
      bad = bad + 1
   end
end
