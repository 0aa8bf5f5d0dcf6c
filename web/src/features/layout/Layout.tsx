import { useCallback, useState } from "react";
import { NavLink, Outlet, useNavigate } from "react-router";

import { useSession, useSignOut } from "../auth/session";
import { Icon } from "./icons";
import { Logo } from "./Logo";
import { HELP, useGlobalShortcuts } from "./shortcuts";

const NAV = [
  { to: "/ui/traces", label: "Traces", icon: "traces", key: "g t" },
  { to: "/ui/sessions", label: "Sessions", icon: "sessions", key: "g s" },
  { to: "/ui/dashboards", label: "Dashboards", icon: "dashboards", key: "g d" },
  { to: "/ui/annotation", label: "Annotation", icon: "annotation", key: "g a" },
  { to: "/ui/datasets", label: "Datasets", icon: "datasets", key: "g x" },
  { to: "/ui/evals", label: "Evaluation", icon: "evals", key: "g e" },
  { to: "/ui/map", label: "Map", icon: "map", key: "g m" },
  { to: "/ui/settings", label: "Settings", icon: "settings", key: "g ," },
];

export function Layout() {
  const navigate = useNavigate();
  const [help, setHelp] = useState(false);
  const go = useCallback((path: string) => navigate(path), [navigate]);
  const toggleHelp = useCallback(() => setHelp((shown) => !shown), []);
  useGlobalShortcuts(go, toggleHelp);
  return (
    <div className="shell">
      <nav className="sidebar" aria-label="Main">
        <div className="brand">
          <Logo />
          <span>Glassgate</span>
        </div>
        <ul className="nav">
          {NAV.map((item) => (
            <li key={item.to}>
              <NavLink to={item.to} title={`${item.label} (${item.key})`}>
                <Icon name={item.icon} />
                {item.label}
              </NavLink>
            </li>
          ))}
        </ul>
        <div className="sidebar-foot">
          <UserMenu />
          <button type="button" className="link-button muted" onClick={toggleHelp}>
            Keyboard shortcuts <kbd>?</kbd>
          </button>
        </div>
      </nav>
      <main className="content">
        <Outlet />
      </main>
      {help ? <ShortcutHelp onClose={toggleHelp} /> : null}
    </div>
  );
}

function UserMenu() {
  const session = useSession();
  const signOut = useSignOut();
  const navigate = useNavigate();
  const [open, setOpen] = useState(false);
  const user = session.data?.user;
  if (session.data?.signed_in && !user) {
    return <div className="user-menu muted small">Signed in with the admin token</div>;
  }
  const label = user?.name || user?.email || "Account";
  const initials = label
    .split(/[\s@.]+/)
    .filter(Boolean)
    .slice(0, 2)
    .map((word) => word[0]?.toUpperCase())
    .join("");
  return (
    <div className="user-menu">
      <button type="button" className="user-button" aria-expanded={open} onClick={() => setOpen(!open)}>
        <span className="avatar" aria-hidden="true">
          {initials}
        </span>
        <span className="user-label">
          <span>{label}</span>
          {user?.email && user.name ? <span className="muted small">{user.email}</span> : null}
        </span>
      </button>
      {open ? (
        <div className="menu" role="menu">
          <div className="menu-note muted small">Role: {user?.role ?? "—"}</div>
          <button
            type="button"
            role="menuitem"
            onClick={() => signOut.mutate(undefined, { onSettled: () => navigate("/ui/login") })}
          >
            Sign out
          </button>
        </div>
      ) : null}
    </div>
  );
}

function ShortcutHelp({ onClose }: { onClose: () => void }) {
  return (
    <div className="modal-backdrop" onClick={onClose}>
      <div
        className="modal shortcut-help"
        role="dialog"
        aria-label="Keyboard shortcuts"
        onClick={(e) => e.stopPropagation()}
      >
        <h3>Keyboard shortcuts</h3>
        <div className="help-sections">
          {HELP.map((section) => (
            <section key={section.title}>
              <h4>{section.title}</h4>
              <table className="kv">
                <tbody>
                  {section.rows.map(([key, what]) => (
                    <tr key={key}>
                      <td>
                        <kbd>{key}</kbd>
                      </td>
                      <td>{what}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </section>
          ))}
        </div>
        <button type="button" className="btn" onClick={onClose} autoFocus>
          Close
        </button>
      </div>
    </div>
  );
}
