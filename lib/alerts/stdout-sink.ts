import type { StdoutSinkConfig } from '../../schemas/config.ts';
import { alertLine, type AlertPayload, type Severity } from './alert-payload.ts';
import type { AlertSink, SinkResult } from './alert-sink.ts';

/** Writes each new alert to standard output: one JSON object per line, or one human line. */
export class StdoutSink implements AlertSink {
  readonly name: string;
  readonly minSeverity: Severity;

  constructor(
    private readonly config: StdoutSinkConfig,
    private readonly write: (text: string) => void,
  ) {
    this.name = config.name;
    this.minSeverity = config.min_severity;
  }

  async deliver(alerts: readonly AlertPayload[]): Promise<SinkResult> {
    try {
      const text = alerts.map((alert) => (this.config.format === 'json' ? JSON.stringify(alert) : alertLine(alert))).join('\n');
      if (alerts.length > 0) this.write(`${text}\n`);
      return { delivered: alerts.map((alert) => alert.alert_id), failed: [] };
    } catch (error) {
      return { delivered: [], failed: alerts.map((alert) => alert.alert_id), error: (error as Error).message };
    }
  }
}
