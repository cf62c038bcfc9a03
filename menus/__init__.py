"""USSD screens declared as data; `ussd_app.engine` turns them into one state machine at import.

How to add a screen
-------------------
One `Screen` in a module's `SCREENS` list + one option line in its parent + one test row::

    # menus/production.py
    SCREENS = [
        Screen("production", N_("Produit ?"), choices=product_choices, save_as="product",
               then="production_qty"),
        Screen("production_qty", N_("Quantité ({unit}) ?"), accept=whole_number(1, 100_000),
               save_as="quantity", then="production_confirm", resumable=True),
        Screen("production_confirm", N_("{quantity} {unit} de {product}, {week}."),
               options=[Option("1", N_("Confirmer"), "production_saved"),
                        Option("2", N_("Annuler"), "main"),
                        Option("3", N_("Changer de semaine"), "production_week")],
               resumable=True),
        Screen("production_saved", N_("Enregistré. Réf {ref}."), on_enter=save_production,
               options=[Option("1", N_("Autre produit"), "production")]),
    ]

* The module goes in `menus.registry.MODULES`; a screen name declared twice fails at import.
* Kinds of screen: `options` (a fixed menu), `choices` (a numbered list from the database, paged,
  the chosen `Choice.value` saved under `save_as`, then `then`), `lines` (information, paged),
  `accept` (free input: a validator returns the value or raises `Invalid(N_("hint"))`), `end=True`.
* A target is a screen name, or `Decide(function, *targets)` when it depends on data: the
  function gets the `Hop` and returns one of the declared targets (the graph test checks them).
* Texts are French msgids marked `N_()`, formatted with `hop.view` (ctx + what `view(hop)`
  returns) and translated at rendering in the member's language. Add every new msgid to
  `i18n/locales/{fr,wo,en}/LC_MESSAGES/<area>.po`; tests/test_catalogs.py checks them all.
* Navigation is the engine's, not the screen's: on menus and lists `0` back (`back=`, default
  main; page n > 1: page n-1), `00` main menu, `98` next page; on `accept` screens only `00`.
  A wrong entry re-shows the screen with the `Invalid` hint. Don't give `0`/`00`/`98` other meanings.

Callbacks and writes
--------------------
* `Hop` (menus/hop.py) is the per-hop model: `hop.ctx` (small JSON kept in Redis between hops —
  ids and numbers, never names lists, never a PIN), `hop.value` (this hop's accepted entry),
  `hop.identity` (member id, cooperative id, language, role, status: cached, no SQL), `hop.db`
  (a SQLAlchemy session opened on first use), `hop.now`/`hop.today` (the injected clock).
* Order in a hop: the entry is resolved (validator, option, `Decide`) → the value is saved in
  `ctx[save_as]` in the transition's `before` → the new screen's `on_enter(hop)` → `view(hop)`
  and `lines`/`choices` at rendering. Stage input in validators/`Decide`, never in `after`.
* Callbacks only stage changes on `hop.db` (add, update, `queue_sms` to the outbox); the webhook
  commits ONCE per hop after rendering, then writes the session to Redis. Never commit, never send
  an SMS inline. An exception anywhere rolls the hop back and the member gets the apology END.
* Read-only hops stay within 3 SQL statements: one query per `view`/`lines`/`choices`.
* Write actions are idempotent through a unique database key derived from (sessionId, step):
  `hop.idempotency_key` — put it in the row's `idempotency_key` column (see models/activity.py)
  or call `menus.writes.add_once(hop, Model, make_row)`, which returns the row a first attempt of
  the same hop already saved. Redis replays the last reply for a repeated hop; the key covers
  the case where the reply was lost after the commit.

Resumable tasks (DESIGN §3)
---------------------------
Mark the screens of a multi-step task `resumable=True` (the quantity, amount and confirmation
screens — not menus, not information screens, never END screens). While a session sits on such a
screen the engine keeps a per-phone record (state + ctx, same TTL as the session); on the next
dial, right after the PIN, the member is offered "1 Continuer / 2 Menu principal". Reaching any
screen that is not resumable (saved, cancelled, main menu) forgets it. Keep everything the later
screens need in `ctx`, since that is all a resumed task gets back.
"""
