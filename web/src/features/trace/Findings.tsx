import { excerpt, type Located } from "./highlight";

export function Findings({ located }: { located: Located[] }) {
  if (located.length === 0) {
    return <p className="muted">No guardrail found anything in this call.</p>;
  }
  return (
    <table className="grid findings" data-testid="findings">
      <colgroup>
        <col style={{ width: 150 }} />
        <col style={{ width: 240 }} />
        <col />
        <col style={{ width: 100 }} />
        <col style={{ width: 130 }} />
        <col style={{ width: 80 }} />
        <col style={{ width: 70 }} />
      </colgroup>
      <thead>
        <tr>
          <th>Category</th>
          <th>Where</th>
          <th>Match</th>
          <th>Detector</th>
          <th>Policy</th>
          <th>Action</th>
          <th className="num">Score</th>
        </tr>
      </thead>
      <tbody>
        {located.map(({ finding, text }, index) => {
          const [before, match, after] = text === undefined ? ["", "", ""] : excerpt(text, finding, 24);
          return (
            <tr key={index}>
              <td>
                <span className="badge flag">{finding.category}</span>
              </td>
              <td className="mono small">
                {finding.phase} · {finding.field} [{finding.start}–{finding.end}]
              </td>
              <td className="excerpt">
                {text === undefined ? (
                  <span className="muted">text not in the stored body</span>
                ) : (
                  <>
                    <span className="muted">{before}</span>
                    <mark className={`finding action-${finding.action}`}>{match}</mark>
                    <span className="muted">{after}</span>
                  </>
                )}
              </td>
              <td>{finding.detector}</td>
              <td>{finding.policy}</td>
              <td>
                <span className={`badge action-${finding.action}`}>{finding.action}</span>
              </td>
              <td className="num">{finding.score.toFixed(2)}</td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}
