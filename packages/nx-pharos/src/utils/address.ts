/** Whether `address` (`host[:port]`, an IPv6 host in brackets) is this machine: 127.0.0.0/8, ::1 or localhost. */
export function isLoopback(address: string): boolean {
  const host = /^\[([^\]]+)\]/.exec(address)?.[1] ?? address.replace(/:\d+$/, '');
  return /^127(?:\.\d{1,3}){3}$/.test(host) || host === '::1' || host.toLowerCase() === 'localhost';
}
