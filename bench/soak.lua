-- Soak (bench/soak.py): whole sessions, one after another on each connection: dial, PIN, then
-- balance, back, my loan, main menu twice over; then a new session for another member.
package.path = package.path .. ";bench/ussd/?.lua"
require "common"

local pin = "4827"
local sequence = {"1", "0", "3", "00", "1", "0", "3", "00"}
local nonce = "0"
local k, hop, text = 0, -1, ""

function init(args)
   nonce = args[1] or "0"
end

function request()
   if hop > #sequence then
      k = k + 1
      hop = -1
   end
   if hop == -1 then
      text = ""             -- the dial
   elseif hop == 0 then
      text = pin
   else
      text = text .. "*" .. sequence[hop]
   end
   hop = hop + 1
   local body = string.format(
      "sessionId=soak-%s-%d-%d&serviceCode=%%2A384%%2A123%%23&phoneNumber=%s&networkCode=60801&text=%s",
      nonce, tid, k, phone_of(member_of(tid, k)), (text:gsub("%*", "%%2A")))
   return wrk.format("POST", "/ussd", {["Content-Type"] = "application/x-www-form-urlencoded"}, body)
end
