// supabase-js warns once per client module that Node 20 is deprecated; CI runs Node 20 on
// purpose (it is what these machines have), so drop that one line and keep every other warning.
const warn = console.warn.bind(console);
console.warn = (...args: unknown[]) => {
  if (typeof args[0] === 'string' && args[0].includes('Node.js 20 and below are deprecated')) return;
  warn(...args);
};
