import { useState, type SyntheticEvent, type ReactNode } from 'react';
import { ApiError, signIn } from '../api';

/**
 * Sign in with an admin account (the same accounts and rights as the admin API). The password is
 * sent once to /console/session and exchanged for a short-lived token; it is never stored.
 */
export function SignInPage(props: { notice: string | null }): ReactNode {
  const [name, setName] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = (event: SyntheticEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    signIn(name, password).then(
      () => setPassword(''),
      (caught: unknown) => {
        setBusy(false);
        setPassword('');
        setError(
          caught instanceof ApiError
            ? caught.status === 401
              ? 'The account name or password is not right.'
              : caught.message
            : 'The site did not answer.',
        );
      },
    );
  };

  return (
    <div className="sign-in">
      <form className="card sign-in-card" onSubmit={submit} aria-label="sign in">
        <h1>Steward console</h1>
        <p className="muted">Sign in with your Steward administrator account.</p>
        {props.notice === null ? null : <p className="notice">{props.notice}</p>}
        <label>
          Account
          <input
            name="account"
            autoComplete="username"
            value={name}
            onChange={(event) => setName(event.target.value)}
            required
            autoFocus
          />
        </label>
        <label>
          Password
          <input
            name="password"
            type="password"
            autoComplete="current-password"
            value={password}
            onChange={(event) => setPassword(event.target.value)}
            required
          />
        </label>
        {error === null ? null : (
          <p className="error-note" role="alert">
            {error}
          </p>
        )}
        <button type="submit" className="primary" disabled={busy}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
      </form>
    </div>
  );
}
