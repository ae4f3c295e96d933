#include "ui/figures/figure_export.h"

#include "core/common/atomic_file.h"
#include "core/common/error.h"
#include "ui/figures/figure_renderer.h"
#include "ui/figures/figure_style.h"

#include <QImage>
#include <QImageWriter>
#include <QPageLayout>
#include <QPageSize>
#include <QPainter>
#include <QPdfWriter>
#include <QSvgGenerator>

#include <cmath>

namespace moescope::ui {

namespace {

constexpr double kLogicalDpi = figure_style::kLogicalDpi;
constexpr int kPdfResolution = 1200;

void paintScaled(FigureRenderer &figure, QPainter &painter, const QSizeF &size, double scale)
{
    painter.setRenderHint(QPainter::Antialiasing, true);
    painter.setRenderHint(QPainter::TextAntialiasing, true);
    painter.scale(scale, scale);
    figure.paint(&painter, QRectF(QPointF(0, 0), size));
}

} // namespace

FigureFormat parseFigureFormat(const QString &name)
{
    const QString n = name.trimmed().toLower();
    if (n == QLatin1String("svg"))
        return FigureFormat::Svg;
    if (n == QLatin1String("pdf"))
        return FigureFormat::Pdf;
    if (n == QLatin1String("png"))
        return FigureFormat::Png;
    throw Error("unknown figure format '" + name.toStdString() + "' (use svg, pdf or png)");
}

QString figureFormatSuffix(FigureFormat format)
{
    switch (format) {
    case FigureFormat::Svg:
        return QStringLiteral("svg");
    case FigureFormat::Pdf:
        return QStringLiteral("pdf");
    case FigureFormat::Png:
        return QStringLiteral("png");
    }
    return {};
}

QSize pngPixelSize(const QSizeF &logicalSize, int dpi)
{
    return QSize(static_cast<int>(std::lround(logicalSize.width() * dpi / kLogicalDpi)),
                 static_cast<int>(std::lround(logicalSize.height() * dpi / kLogicalDpi)));
}

void exportFigure(FigureRenderer &figure, const QString &path, const FigureExportOptions &options)
{
    const std::string target = path.toStdString();
    const QSizeF size = options.size.isEmpty() ? figure.defaultSize() : options.size;
    AtomicFile file(target);
    const QString temp = QString::fromStdString(file.tempPath());

    switch (options.format) {
    case FigureFormat::Svg: {
        QSvgGenerator generator;
        generator.setFileName(temp);
        generator.setSize(size.toSize());
        generator.setViewBox(QRectF(QPointF(0, 0), size));
        generator.setResolution(static_cast<int>(kLogicalDpi));
        generator.setTitle(figure.title());
        generator.setDescription(figure.caption());
        QPainter painter;
        if (!painter.begin(&generator))
            throw Error(target, "cannot write SVG");
        paintScaled(figure, painter, size, 1.0);
        painter.end();
        break;
    }
    case FigureFormat::Pdf: {
        QPdfWriter writer(temp);
        writer.setResolution(kPdfResolution);
        writer.setTitle(figure.title());
        writer.setCreator(QStringLiteral("MoEScope " MOESCOPE_VERSION));
        const QPageSize page(QSizeF(size.width() / kLogicalDpi, size.height() / kLogicalDpi),
                             QPageSize::Inch, QString(), QPageSize::ExactMatch);
        writer.setPageLayout(QPageLayout(page, QPageLayout::Portrait, QMarginsF(0, 0, 0, 0)));
        QPainter painter;
        if (!painter.begin(&writer))
            throw Error(target, "cannot write PDF");
        paintScaled(figure, painter, size, kPdfResolution / kLogicalDpi);
        painter.end();
        break;
    }
    case FigureFormat::Png: {
        if (options.dpi < 24 || options.dpi > 1200)
            throw Error(target, "DPI must be between 24 and 1200");
        QImage image(pngPixelSize(size, options.dpi), QImage::Format_ARGB32_Premultiplied);
        if (image.isNull())
            throw Error(target, "image too large for this DPI");
        image.fill(Qt::white);
        {
            QPainter painter(&image);
            paintScaled(figure, painter, size, options.dpi / kLogicalDpi);
        }
        // Set after painting: fonts are sized in logical pixels, and the
        // image's DPI only tells viewers the intended physical size.
        const int dotsPerMeter = static_cast<int>(std::lround(options.dpi / 0.0254));
        image.setDotsPerMeterX(dotsPerMeter);
        image.setDotsPerMeterY(dotsPerMeter);
        QImageWriter writer(temp, "png");
        writer.setText(QStringLiteral("Title"), figure.title());
        writer.setText(QStringLiteral("Description"), figure.caption());
        if (!writer.write(image.convertToFormat(QImage::Format_RGB32)))
            throw Error(target, "cannot write PNG: " + writer.errorString().toStdString());
        break;
    }
    }
    file.commit();
    // Re-lay out chart figures at their on-screen size on the next paint.
    Q_EMIT figure.changed();
}

} // namespace moescope::ui
