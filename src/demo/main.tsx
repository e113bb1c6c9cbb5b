import { createRoot } from 'react-dom/client';
import { requestPersistentStorage } from '../db/index.ts';
import { App } from './App.tsx';
import { loadDevConfig } from './session.ts';
import './styles.css';

const root = createRoot(document.getElementById('root')!);
// The demo's cards and unsynced changes should not be cleared by the browser under disk pressure.
void requestPersistentStorage();
loadDevConfig().then(
  (config) => root.render(<App config={config} />),
  (error: Error) => root.render(<p role="alert">{error.message}</p>),
);
