import { createHash } from 'node:crypto';
import type { SmsInbox } from '../login/phone/sms-sender.js';
import type { Persona, SimulatorState } from './simulator-state.js';

/**
 * What the phone page shows for `persona`, and a version of it: a hash of
 * everything on the page except the seconds left on each code. The page's
 * script asks for the version every few seconds and fetches the page again
 * only when it changed (a new or expired code, a chat message, an SMS, a user).
 */
export function buildPhoneView(state: SimulatorState, smsInbox: SmsInbox, persona: Persona | undefined) {
  const personas = [...state.personas.values()];
  const tickets = state.waitingTickets();
  const miniCodes = state.waitingMiniCodes();
  const qrconnects = state.waitingQrconnects();
  const sms = smsInbox.list();
  const version = createHash('sha256')
    .update(
      JSON.stringify([
        personas.map((p) => [p.openid, p.nickname, p.following]),
        persona ? [persona.openid, persona.following, persona.snapshot, persona.chat, persona.generatedCodes, persona.miniScreen] : null,
        tickets.map((ticket) => ticket.ticket),
        miniCodes.map((code) => code.scene),
        qrconnects.map((request) => request.id),
        sms.map((message) => [message.phone, message.code, message.at]),
      ]),
    )
    .digest('base64url')
    .slice(0, 16);
  return {
    version,
    personas,
    persona,
    miniCodes,
    qrconnects,
    tickets: tickets.map((ticket) => ({ ...ticket, secondsLeft: Math.max(0, Math.round((ticket.expiresAt - state.now()) / 1000)) })),
    sms,
  };
}
