-- (c) the real hop mix after the PIN: balance, back, my loan, main menu; 40 hops a session, then
-- the next session (sessions were put on the main menu beforehand by bench/ussd/run.py).
package.path = package.path .. ";bench/ussd/?.lua"
require "common"

local sequence = {"1", "0", "3", "00"}
local per_session = 40
local k, step, text = 0, 0, ""

function request()
   if step == per_session then
      k = k + 1
      step = 0
      text = ""
   end
   local entry = sequence[(step % #sequence) + 1]
   if text == "" then text = entry else text = text .. "*" .. entry end
   step = step + 1
   return hop(string.format("b-%d-%d", tid, k), member_of(tid, k), text)
end
