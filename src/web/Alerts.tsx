import { useCallback, useState } from 'react';
import { describeError } from '../client/errors.ts';

export type Report = (error: unknown) => void;

interface Alert {
  id: number;
  text: string;
}

/** The last few failures, shown until dismissed: errors are told to the person, never swallowed. */
export function useAlerts() {
  const [items, setItems] = useState<Alert[]>([]);
  const report: Report = useCallback(
    (error) => setItems((held) => [...held.slice(-2), { id: (held.at(-1)?.id ?? 0) + 1, text: describeError(error) }]),
    [],
  );
  const dismiss = useCallback((id: number) => setItems((held) => held.filter((item) => item.id !== id)), []);
  return { items, report, dismiss };
}

export function Alerts({ alerts }: { alerts: ReturnType<typeof useAlerts> }) {
  if (alerts.items.length === 0) return null;
  return (
    <div className="alerts">
      {alerts.items.map((item) => (
        <div key={item.id} className="alert">
          <p role="alert">{item.text}</p>
          <button aria-label="Dismiss" onClick={() => alerts.dismiss(item.id)}>
            ×
          </button>
        </div>
      ))}
    </div>
  );
}
