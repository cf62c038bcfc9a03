-- (c) the real hop mix after the PIN: balance, back, my loan, main menu; 40 hops a session, then
-- the next session (sessions were put on the main menu beforehand by bench/ussd/run.py).
package.path = package.path .. ";bench/ussd/?.lua"
require "common"

local sequence = {"1", "0", "3", "00"}
local per_session = 40
local k, hop, text = 0, 0, ""

function request()
   if hop == per_session then
      k = k + 1
      hop = 0
      text = ""
   end
   local entry = sequence[(hop % #sequence) + 1]
   if text == "" then text = entry else text = text .. "*" .. entry end
   hop = hop + 1
   local body = string.format(
      "sessionId=b-%d-%d&serviceCode=%%2A384%%2A123%%23&phoneNumber=%s&networkCode=60801&text=%s",
      tid, k, phone_of(member_of(tid, k)), (text:gsub("%*", "%%2A")))
   return wrk.format("POST", "/ussd", {["Content-Type"] = "application/x-www-form-urlencoded"}, body)
end
