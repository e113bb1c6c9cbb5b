import { createRoot } from 'react-dom/client';
import { App } from './App.tsx';
import { loadDevConfig } from './session.ts';
import './styles.css';

const root = createRoot(document.getElementById('root')!);
loadDevConfig().then(
  (config) => root.render(<App config={config} />),
  (error: Error) => root.render(<p role="alert">{error.message}</p>),
);
