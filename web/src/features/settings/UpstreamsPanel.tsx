import { useQuery } from "@tanstack/react-query";

import { api, unwrap } from "../../api/client";
import { EmptyState, Spinner } from "../../components/feedback";
import { LoadError } from "./LoadError";

const AUTH_NOTES: Record<string, string> = {
  passthrough: "Clients send their own vendor key",
  static: "Clients send a Glassgate key; Glassgate sends its own vendor key",
  azure_service_principal: "Clients send a Glassgate key; Glassgate signs in to Entra ID",
  azure_identity: "Clients send a Glassgate key; Glassgate uses its own Entra ID identity (workload or managed)",
  aws: "Clients sign with a Glassgate AWS key pair; Glassgate re-signs with its own AWS credentials",
};

export function UpstreamsPanel() {
  const upstreams = useQuery({ queryKey: ["upstreams"], queryFn: () => unwrap(api.GET("/api/v1/upstreams")), retry: false });
  if (upstreams.isPending) return <Spinner />;
  if (upstreams.isError) return <LoadError error={upstreams.error} what="the upstream list" />;
  if (upstreams.data.data.length === 0) {
    return <EmptyState title="No upstreams configured">Add them under <code>upstreams:</code> in glassgate.yaml.</EmptyState>;
  }
  return (
    <>
      <p className="muted">Upstreams come from the config file (glassgate.yaml); change them there and restart.</p>
      <table className="grid">
        <thead>
          <tr>
            <th>Name</th>
            <th>Vendor</th>
            <th>URL</th>
            <th>Credentials</th>
            <th>Clients send to</th>
          </tr>
        </thead>
        <tbody>
          {upstreams.data.data.map((upstream) => (
            <tr key={upstream.name}>
              <td className="mono">{upstream.name}</td>
              <td>{upstream.vendor}</td>
              <td className="mono small">
                {upstream.url}
                {upstream.region ? <span className="muted"> ({upstream.region})</span> : null}
              </td>
              <td title={AUTH_NOTES[upstream.auth_type]}>{upstream.auth_type}</td>
              <td className="mono small">
                {window.location.origin}
                {upstream.path}
                {upstream.vendor === "openai" ? "/v1" : ""}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}
