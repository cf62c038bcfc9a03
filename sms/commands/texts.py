"""Every text the treasurer commands send, as French msgids (catalog area `commands`).

Translated when rendered, in each recipient's own language (i18n/locales/*/LC_MESSAGES/commands.po).
`{coop}` is the cooperative's short code, so a reader knows which cooperative wrote; names are
cut by `Messenger.label` so that a receipt stays one SMS segment.
"""

from __future__ import annotations

from i18n.catalog import N_

# --- receipts (kind "receipt": never rate-limited, both sides get one) ------------------------------
PAY_RECEIPT = N_(
    "{coop}: {member} a payé {amount} le {day}, reçu par {treasurer}. Reçu {receipt}. "
    "Reste à payer: {outstanding}."
)
RECOVERY_RECEIPT = N_(
    "{coop}: recouvrement sur prêt en pertes: {member} a payé {amount} le {day} à {treasurer}. "
    "Reçu {receipt}. Reste {outstanding}."
)
DECLARATION_CONFIRMED = N_("Déclaration {code} confirmée.")
DEP_RECEIPT = N_(
    "{coop}: dépôt de {amount} pour {member} le {day}, reçu par {treasurer}. "
    "Reçu {receipt}. Épargne: {balance}."
)
RETRAIT_RECEIPT = N_(
    "{coop}: retrait de {amount} pour {member}, remis par {treasurer}. Reçu {receipt}. Épargne: {balance}."
)
REPAYMENT_REVERSED = N_(
    "{coop}: le paiement {receipt} de {amount} pour {member} est annulé par {treasurer}. "
    "Reste à payer: {outstanding}."
)
SAVINGS_REVERSED = N_(
    "{coop}: l'opération {receipt} de {amount} pour {member} est annulée par {treasurer}. Épargne: {balance}."
)

# --- notices (kind "notice": what happened to someone, not an answer to them) -----------------------
PIN_RESET_MEMBER = N_(
    "{coop}: votre code PIN a été effacé par {treasurer}. Composez {ussd} pour choisir un nouveau PIN."
)
# {ussd} when no service code is configured (a development setup): never an empty hole.
USSD_SERVICE = N_("le service USSD")
PIN_RESET_DONE = N_(
    "{coop}: PIN de {member} effacé. Au prochain appel USSD, il ou elle choisira un nouveau PIN."
)
PIN_LOCKED_OFFICER = N_(
    "{coop}: {member} a fait 3 PIN faux et est bloqué. Pour effacer son PIN, envoyez PIN {member_no}."
)
DECLARATION_REJECTED_MEMBER = N_(
    "{coop}: votre déclaration de {amount} (code {code}) n'est pas confirmée par {treasurer}. "
    "Voyez votre trésorier."
)
DECLARATION_REJECTED_DONE = N_(
    "{coop}: déclaration {code} de {member} ({amount}) refusée. Rien n'est enregistré."
)
DECLARATION_NEW = N_(
    "{coop}: {member} déclare avoir payé {amount}. "
    "Répondez OUI {code} pour confirmer ou NON {code} pour refuser."
)
DECLARATION_REPLACES = N_(
    "{coop}: {member} remplace sa déclaration {old_code} par {amount}. Répondez OUI {code} ou NON {code}."
)
DECLARATION_REMINDER = N_(
    "{coop}: rappel: {member} attend depuis hier la confirmation de {amount}. "
    "Répondez OUI {code} ou NON {code}."
)
DECLARATION_EXPIRED_MEMBER = N_(
    "{coop}: votre déclaration de {amount} (code {code}) n'a pas été confirmée. Voyez votre trésorier."
)

# --- replies (kind "reply": limited to 5 an hour per sender, 1 a day to a stranger) -----------------
NOT_REGISTERED = N_("Mbolo: ce numéro n'est pas enregistré. Contactez votre coopérative.")
NOT_ALLOWED = N_(
    "{coop}: {keyword} est réservé au trésorier et au président. Envoyez AIDE pour vos commandes."
)
UNKNOWN_MEMBER = N_("{coop}: aucun membre {who} dans votre coopérative. Vérifiez le numéro.")
OWN_ACCOUNT = N_(
    "{coop}: vous ne pouvez pas enregistrer sur votre propre compte. "
    "Le président ou un autre trésorier le fait."
)
OWN_PIN = N_("{coop}: c'est le président ou un autre trésorier qui efface votre PIN.")
TOO_MUCH = N_("{coop}: {amount} dépasse ce que doit {member}: reste {remaining}. Rien n'est enregistré.")
NO_ACTIVE_LOAN = N_("{coop}: {member} n'a pas de prêt en cours. Rien n'est enregistré.")
UNKNOWN_LOAN = N_("{coop}: pas de prêt en cours {loan} pour {member}. Rien n'est enregistré.")
INSUFFICIENT_SAVINGS = N_(
    "{coop}: retrait refusé, l'épargne de {member} est de {balance}. Rien n'est enregistré."
)
RESEND_GUARD = N_(
    "{coop}: déjà enregistré il y a {minutes} min: {amount} pour {member}, reçu {receipt}. "
    "Pour enregistrer encore, renvoyez le message avec OK à la fin."
)
DECLARATION_UNKNOWN = N_("{coop}: aucune déclaration en attente avec le code {code}.")
DECLARATION_ALREADY_CONFIRMED = N_("{coop}: la déclaration {code} est déjà confirmée par {who}.")
DECLARATION_ALREADY_REJECTED = N_("{coop}: la déclaration {code} est déjà refusée par {who}.")
DECLARATION_ALREADY_EXPIRED = N_(
    "{coop}: la déclaration {code} a expiré (72 h). Enregistrez le paiement avec PAY."
)
DECLARATION_ALREADY_REPLACED = N_(
    "{coop}: la déclaration {code} a été remplacée par une nouvelle. Voyez le dernier SMS."
)
DECLARATION_TOO_MUCH = N_(
    "{coop}: la déclaration {code} ({amount}) dépasse ce que doit {member}: reste {remaining}. "
    "Répondez NON {code} puis PAY."
)
RECEIPT_UNKNOWN = N_("{coop}: reçu {receipt} introuvable. Vérifiez le code.")
REVERSE_NOT_YOURS = N_("{coop}: seul {who}, qui a enregistré {receipt}, peut l'annuler.")
REVERSE_COORDINATOR = N_(
    "{coop}: {receipt} n'a pas été enregistré par SMS. Seul le coordinateur peut l'annuler."
)
REVERSE_TOO_OLD = N_("{coop}: {receipt} date de plus de 24 h. Seul le coordinateur peut l'annuler.")
REVERSE_ALREADY = N_("{coop}: {receipt} est déjà annulé.")
REVERSE_INSUFFICIENT = N_(
    "{coop}: impossible d'annuler {receipt}: l'épargne de {member} n'est plus que {balance}."
)
BALANCE = N_("{coop}: {member}: épargne {savings}, reste à payer {outstanding}, retard {days} j.")
BALANCE_PENDING = N_("Déclaration en attente: {amount} (code {code}).")
MY_BALANCE = N_("{coop}: {member}: épargne {savings}, reste à payer {outstanding}.")
MY_NEXT_DUE = N_("Prochaine échéance: {amount} le {day}.")
MY_OVERDUE = N_("En retard: {amount} ({days} j).")
NOT_YOUR_BALANCE = N_(
    "{coop}: SOLDE d'un autre membre est réservé au trésorier. Envoyez SOLDE pour le vôtre."
)

# --- guards before money moves ---------------------------------------------------------------------
IMPLAUSIBLE = N_(
    "{coop}: {amount} pour {member}: montant très bas, rien n'est enregistré. "
    "Si c'est juste, envoyez: {again}"
)
DOUBLE_SEND = N_(
    "{coop}: message reçu deux fois, enregistré une seule fois: {amount} pour {member}, reçu {receipt}."
)

# --- OUI, NON and ANNULE without a code ------------------------------------------------------------
NO_PENDING_DECLARATION = N_(
    "{coop}: aucune déclaration en attente. Pour en confirmer une: OUI et son code, ex: OUI 1234."
)
ONE_PENDING_DECLARATION = N_(
    "{coop}: {member} déclare {amount}. Répondez OUI {code} pour confirmer ou NON {code} pour refuser."
)
PENDING_DECLARATIONS = N_(
    "{coop}: {count} déclarations en attente: {items}. Répondez OUI ou NON suivi du code."
)
LAST_RECEIPT = N_(
    "{coop}: votre dernier reçu est {receipt} ({amount} pour {member}). Pour l'annuler: ANNULE {receipt}"
)
NO_RECENT_RECEIPT = N_(
    "{coop}: aucun reçu de votre main depuis 24 h. Pour annuler: ANNULE et le reçu, ex: ANNULE R000015."
)

# --- RETARDS (replies to an officer) -------------------------------------------------------------
LATE_NO_PAGE = N_("{coop}: pas de page {page}: la liste des retards a {pages} page(s). Envoyez RETARDS 1.")
LATE_MEMBER = N_("{coop}: {member}: {overdue} en retard, {days} j.")
LATE_MEMBER_NONE = N_("{coop}: {member} n'a aucun retard.")
LATE_ITEMS = N_("Échéances: {items}.")
LATE_MORE = N_("Et {more} autre(s) échéance(s).")
LATE_LAST_REMINDER = N_("Dernier rappel de retard: {day}.")
LATE_NO_REMINDER = N_("Aucun rappel de retard envoyé.")
LATE_PROMISE = N_("Promesse: {amount} pour le {day}, {status}, payé {paid}.")
PROMISE_OPEN = N_("en cours")
PROMISE_KEPT = N_("tenue")
PROMISE_BROKEN = N_("non tenue")
PROMISE_REPLACED = N_("remplacée")

# --- PROMESSE -------------------------------------------------------------------------------------
PROMISE_RECORDED = N_(
    "{coop}: promesse de {member}: {amount} d'ici le {day}. Les rappels de retard attendent cette date."
)
PROMISE_REPLACES = N_("Elle remplace la promesse de {amount} pour le {day}.")
PROMISE_MEMBER = N_(
    "{coop}: {treasurer} a noté votre promesse de payer {amount} d'ici le {day}. Merci de la tenir."
)

# --- STOP and START (kind "reply"; their msgids sit in the `sms` catalog area) ----------------------
STOP_CONFIRMED = N_(
    "Vous ne recevrez plus de rappels ni d'annonces. Les recus continuent. Envoyez START pour les reprendre."
)
START_CONFIRMED = N_("Vous recevrez de nouveau les rappels et les annonces. Envoyez STOP pour les arreter.")

# --- syntax: one sentence for what was wrong, then the keyword's format (its spec's `syntax`) -------
SYNTAX = N_("{problem} Format: {syntax}. Exemple: {example}")
NOT_UNDERSTOOD = N_("Message non compris.")
HELP_RECORDER = N_(
    "Commandes: PAY|DEP|RETRAIT|PROMESSE <membre> <montant>, OUI|NON <code>, ANNULE <reçu>, "
    "PIN|SOLDE|RETARDS <membre>, STOP, START. Ex: PAY M12 5000"
)
HELP_MEMBER = N_(
    "{coop}: SMS: SOLDE pour votre solde, STOP arrête les rappels, START les reprend. "
    "Composez {ussd} pour votre prêt, vos déclarations et votre production."
)

PROBLEMS = {
    "empty": NOT_UNDERSTOOD,
    "too_long": N_("Message trop long."),
    "missing_member": N_("Membre manquant."),
    "bad_member": N_("Membre {detail} non reconnu."),
    "missing_amount": N_("Montant manquant."),
    "bad_amount": N_("Montant {detail} non reconnu."),
    "zero_amount": N_("Le montant doit être plus grand que 0."),
    "negative_amount": N_("Le montant doit être plus grand que 0."),
    "too_large_amount": N_("Montant trop grand: {detail} au plus."),
    "bad_date": N_("Date {detail} invalide."),
    "future_date": N_("Date {detail} dans le futur."),
    "old_date": N_("Date {detail}: 7 jours en arrière au plus."),
    "bad_code": N_("Code {detail} non reconnu."),
    "bad_page": N_("Page {detail} non reconnue."),
    "missing_date": N_("Date manquante."),
    "past_promise": N_("Date {detail} passée: une promesse est pour 1 à 30 jours à venir."),
    "far_promise": N_("Date {detail} trop loin: une promesse est pour 1 à 30 jours à venir."),
    "unexpected": N_("{detail} non compris."),
}

# The same sentences when there is nothing to quote: a reply never shows an empty placeholder.
PROBLEMS_BARE = {
    "bad_member": N_("Membre non reconnu."),
    "bad_amount": N_("Montant non reconnu."),
    "bad_date": N_("Date invalide."),
    "future_date": N_("Date dans le futur."),
    "old_date": N_("Date: 7 jours en arrière au plus."),
    "bad_code": N_("Code non reconnu."),
    "unexpected": NOT_UNDERSTOOD,
}
