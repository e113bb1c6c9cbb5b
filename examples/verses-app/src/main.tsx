import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './App.tsx';
import { sessionFromLocation } from './session.ts';
import { createAppSync } from './sync.ts';

const root = createRoot(document.getElementById('root')!);
const session = sessionFromLocation(window.location);
if (!session) {
  root.render(<p>Open this page with #user=…&amp;token=…&amp;anonKey=… (a session from your Supabase project).</p>);
} else {
  const app = createAppSync(session);
  root.render(
    <StrictMode>
      <App app={app} userId={session.userId} />
    </StrictMode>,
  );
}
