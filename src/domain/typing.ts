import type { EventBus } from '../events.ts';

/**
 * Typing indicators with a server-side expiry: a start is announced once and
 * then only refreshed by repeated starts (the throttle), and a typist who
 * never sends a stop is announced stopped after `timeoutMs`.
 */
export function createTypingTracker(bus: EventBus, timeoutMs: number) {
  const typing = new Map<string, NodeJS.Timeout>();
  const stop = (chatId: string, userId: string) => {
    const key = `${chatId}:${userId}`;
    const timer = typing.get(key);
    if (!timer) return;
    clearTimeout(timer);
    typing.delete(key);
    bus.publish('chat:typing', { chatId, userId, typing: false });
  };
  return {
    set(chatId: string, userId: string, isTyping: boolean) {
      if (!isTyping) return stop(chatId, userId);
      const key = `${chatId}:${userId}`;
      const timer = typing.get(key);
      if (timer) {
        timer.refresh();
        return;
      }
      typing.set(
        key,
        setTimeout(() => stop(chatId, userId), timeoutMs),
      );
      bus.publish('chat:typing', { chatId, userId, typing: true });
    },
    close() {
      for (const timer of typing.values()) clearTimeout(timer);
      typing.clear();
    },
  };
}

export type TypingTracker = ReturnType<typeof createTypingTracker>;
