#pragma once

// Writes a figure to SVG (QSvgGenerator), PDF (QPdfWriter) or PNG (QImage at
// a chosen DPI). Used by File → Export figure and by `moescope figures`.

#include <QSize>
#include <QSizeF>
#include <QString>

namespace moescope::ui {

class FigureRenderer;

enum class FigureFormat { Svg, Pdf, Png };

// "svg" | "pdf" | "png" (case-insensitive); throws moescope::Error otherwise.
FigureFormat parseFigureFormat(const QString &name);
QString figureFormatSuffix(FigureFormat format);

struct FigureExportOptions
{
    FigureFormat format = FigureFormat::Png;
    int dpi = 150;  // PNG only; vector formats are resolution-free
    QSizeF size;    // logical size (1/96 inch units); empty: the figure's default
};

// Pixel size of a PNG export: the logical size scaled from 96 DPI to dpi.
QSize pngPixelSize(const QSizeF &logicalSize, int dpi);

// Renders and writes atomically (temporary file + rename); throws
// moescope::Error(path, reason) on failure.
void exportFigure(FigureRenderer &figure, const QString &path, const FigureExportOptions &options);

} // namespace moescope::ui
