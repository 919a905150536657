import type { ReactNode } from 'react';
import { Badge, ErrorNote, Loading, Section } from '../components';
import { formatTime } from '../format';
import { useApi } from '../hooks';
import type { SecurityAudit } from '../types';

/**
 * The security audit's results (GET /api/v1/audit/security, docs/audit.md): each Security Planning
 * best practice with pass, warn or fail, the evidence and what to change. It runs when the page
 * opens and when asked again, never on a timer: with a directory configured, each run binds to it
 * and writes a probe entry.
 */
export function SecurityAuditSection(): ReactNode {
  const audit = useApi<SecurityAudit>('/audit/security');
  const report = audit.data;
  return (
    <Section
      title="Security audit"
      actions={
        <button type="button" onClick={audit.reload} disabled={audit.loading} data-testid="audit-run">
          {audit.loading ? 'Running…' : 'Run again'}
        </button>
      }
    >
      <ErrorNote error={audit.error} />
      {report === undefined ? (
        audit.error === undefined ? (
          <Loading what="the security audit" />
        ) : null
      ) : (
        <>
          <p data-testid="audit-summary" className={report.passed ? 'ok-text' : 'audit-failed'}>
            {report.summary.pass} passed, {report.summary.warn} warned, {report.summary.fail} failed
            {report.passed ? '' : ': the failed checks say what to change'} · checked{' '}
            {formatTime(report.checkedAt)}
          </p>
          <table data-testid="audit-results" className="audit">
            <thead>
              <tr>
                <th>Result</th>
                <th>Best practice</th>
                <th>Evidence</th>
                <th>What to change</th>
              </tr>
            </thead>
            <tbody>
              {report.checks.map((check) => (
                <tr key={check.id} data-testid={`audit-${check.id}`} data-result={check.result}>
                  <td>
                    <Badge value={check.result} />
                  </td>
                  <td>
                    <code>{check.id}</code>
                    <div className="muted">{check.practice}</div>
                  </td>
                  <td className="audit-text">{check.evidence}</td>
                  <td className="audit-text">{check.fix === '' ? '—' : check.fix}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
    </Section>
  );
}
