export function Logo({ size = 22 }: { size?: number }) {
  return (
    <svg width={size} height={size} viewBox="0 0 32 32" aria-hidden="true">
      <rect width="32" height="32" rx="7" fill="#4f46e5" />
      <path d="M9 8h14v4H13v8h6v-3h-3v-4h7v11H9z" fill="#fff" />
    </svg>
  );
}
